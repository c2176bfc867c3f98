/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/**
 * A 64-bit NTP timestamp (RFC 3550 §4: seconds since 1900 and a binary fraction) for a time in ms
 * since the Unix epoch. werift 0.25.2's own `ntpTime()` writes the decimal digits of the
 * milliseconds as the fraction (0.5 s becomes 5/2³² s), so its sender reports are off by up to a
 * second: our reports use this instead.
 */
export function ntpFromEpochMs(epochMs: number): bigint {
  const seconds = Math.floor(epochMs / 1000);
  const fraction = Math.floor(((epochMs - seconds * 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds + NTP_UNIX_OFFSET_S) << 32n) | BigInt(Math.min(fraction, 2 ** 32 - 1));
}

/** The inverse: ms since the Unix epoch of a 64-bit NTP timestamp. */
export function epochMsFromNtp(ntp: bigint): number {
  const seconds = Number(ntp >> 32n) - NTP_UNIX_OFFSET_S;
  const fraction = Number(ntp & 0xffffffffn) / 2 ** 32;
  return (seconds + fraction) * 1000;
}
