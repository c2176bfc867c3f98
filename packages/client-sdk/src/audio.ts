import type { AttachAudioOptions } from './types.js';

/** Level checks per second: fine enough for speech onsets, cheap enough for any page. */
const POLL_MS = 20;
/** Speech must last this long to switch on, so a click or a cough does not start speaking. */
const ATTACK_MS = 60;

/** One context for every attachment: an element can feed only one context, ever. */
let ctx: AudioContext | undefined;
/** Elements rerouted through `ctx` (no captureStream): their node, kept for a later attach. */
const routed = new WeakMap<HTMLMediaElement, MediaElementAudioSourceNode>();
/** Attachments using `ctx`, and whether an element plays through it (then it must stay open). */
let users = 0;
let reroutedAny = false;

const GESTURES = ['pointerdown', 'keydown'];

/**
 * Runs `fn` once, on the page's next user gesture (autoplay policies allow audio and video then).
 * Returns a function that removes the listeners, so a closed avatar leaves none behind.
 */
export function onGesture(fn: () => void): () => void {
  const remove = () => {
    for (const type of GESTURES) removeEventListener(type, run, { capture: true });
  };
  const run = () => {
    remove();
    fn();
  };
  for (const type of GESTURES) addEventListener(type, run, { capture: true });
  return remove;
}

/**
 * Calls `set(true/false)` as the audio level crosses `threshold`, with hysteresis: on after
 * ATTACK_MS above it, off after `hangoverMs` below 60 % of it. Returns an idempotent detach.
 *
 * An element is measured through `captureStream()`, which leaves its playback alone. Without it
 * (Firefox, Safari) the element is rerouted through Web Audio and on to the speakers, and stays so
 * after detaching; a cross-origin element without CORS then measures as silence.
 */
export function followAudio(
  source: HTMLMediaElement | MediaStream,
  set: (speaking: boolean) => void,
  { threshold = 0.02, hangoverMs = 350 }: AttachAudioOptions = {},
): () => void {
  ctx ??= new AudioContext();
  const audio = ctx;
  const analyser = audio.createAnalyser();
  analyser.fftSize = 1024;
  const unplug: (() => void)[] = [];
  const listen = (track: MediaStreamTrack) => {
    if (track.kind !== 'audio') return;
    const node = audio.createMediaStreamSource(new MediaStream([track]));
    node.connect(analyser);
    unplug.push(() => node.disconnect());
  };
  let stream = source instanceof MediaStream ? source : undefined;
  if (!stream) {
    const el = source as HTMLMediaElement & { captureStream?(): MediaStream };
    if (el.captureStream) {
      // Throws for cross-origin media without CORS: then it is not measured, but never silenced.
      try {
        stream = el.captureStream();
      } catch {}
    } else {
      const node = routed.get(el) ?? audio.createMediaElementSource(el);
      if (!routed.has(el)) {
        node.connect(audio.destination);
        routed.set(el, node);
        reroutedAny = true;
      }
      node.connect(analyser);
      unplug.push(() => node.disconnect(analyser));
    }
  }
  // A captured element gains its tracks when it loads (and new ones with each new `src`).
  const added = (e: MediaStreamTrackEvent) => listen(e.track);
  stream?.getTracks().forEach(listen);
  stream?.addEventListener('addtrack', added);
  // Suspended by an autoplay policy: rerouted audio would be silent until a gesture resumes it.
  const resume = () => void audio.resume().catch(() => {});
  resume();
  const unGesture = audio.state !== 'running' ? onGesture(resume) : undefined;
  users++;

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
  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    clearInterval(timer);
    stream?.removeEventListener('addtrack', added);
    // The element stays connected to the speakers; only the measurement goes.
    for (const f of unplug) f();
    unGesture?.();
    analyser.disconnect();
    // The last attachment gone: release the audio hardware, unless an element plays through it.
    if (--users === 0 && !reroutedAny && ctx === audio) {
      ctx = undefined;
      void audio.close().catch(() => {});
    }
    if (on) set(false);
  };
}
