import type { AttachAudioOptions } from './types.js';

/** Level checks per second: fine enough for speech onsets, cheap enough for any page. */
const POLL_MS = 20;
/** Speech must last this long to switch on, so a click or a cough does not start speaking. */
const ATTACK_MS = 60;

/**
 * Calls `set(true/false)` as the audio level crosses `threshold`, with hysteresis: on after
 * ATTACK_MS above it, off after `hangoverMs` below 60 % of it. Returns a function that detaches.
 */
export function followAudio(
  source: HTMLMediaElement | MediaStream,
  set: (speaking: boolean) => void,
  { threshold = 0.02, hangoverMs = 350 }: AttachAudioOptions = {},
): () => void {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  if (source instanceof MediaStream) {
    // A stream (a microphone) is only measured: playing it back would echo.
    ctx.createMediaStreamSource(source).connect(analyser);
  } else {
    // An element's audio is rerouted through the graph, so it must go on to the speakers.
    const node = ctx.createMediaElementSource(source);
    node.connect(analyser);
    node.connect(ctx.destination);
  }
  void ctx.resume();
  const samples = new Float32Array(analyser.fftSize);
  let on = false;
  let since = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const level = Math.sqrt(sum / samples.length);
    const now = performance.now();
    const crossing = on ? level < threshold * 0.6 : level > threshold;
    if (!crossing) since = 0;
    else if (!since) since = now;
    else if (now - since >= (on ? hangoverMs : ATTACK_MS)) {
      on = !on;
      since = 0;
      set(on);
    }
  }, POLL_MS);
  return () => {
    clearInterval(timer);
    void ctx.close();
    if (on) set(false);
  };
}
