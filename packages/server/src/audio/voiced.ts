/**
 * Whether a frame of speech is voiced: its RMS level above `threshold` (a 16-bit sample value;
 * −45 dBFS ≈ 184). Text-to-speech output is digital silence or close to it between words and
 * sentences, so a level threshold is enough; the hangover in Voice keeps the face from flapping
 * inside words.
 */
export function isVoiced(frame: Int16Array, threshold: number): boolean {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i]!;
    sum += v * v;
  }
  return Math.sqrt(sum / Math.max(1, frame.length)) > threshold;
}

/** A 16-bit level from dBFS (full scale = 32768). */
export function levelFromDbfs(dbfs: number): number {
  return 32768 * 10 ** (dbfs / 20);
}
