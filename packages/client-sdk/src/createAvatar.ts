import { followAudio, onGesture } from './audio.js';
import { createControl } from './control.js';
import { createEmitter } from './emitter.js';
import { AvatarError, asAvatarError } from './errors.js';
import { loaded, watchFrames } from './frames.js';
import { inboundBytes, watchLiveness, watchPeer } from './liveness.js';
import { dropPeer, openPeer, type Peer } from './peer.js';
import { backoffPolicy, giveUpAfter, reconnect } from './reconnect.js';
import { createSpeech } from './speech.js';
import { latencySummary, peerStats } from './stats.js';
import type {
  Avatar,
  AvatarEvents,
  AvatarOptions,
  AvatarState,
  AvatarStats,
  SpeakingResult,
} from './types.js';
import { sleep, tokenSource } from './whep.js';

const FIRST_FRAME_MS = 15_000;
const MAX_LATENCIES = 500;
/** Default of `maxReconnectMs`: a server restart or a network change is over well before. */
const MAX_RECONNECT_MS = 300_000;
/** How often a hidden page checks the receiver's counters for its first frame. */
const HIDDEN_POLL_MS = 250;

/** The setSpeaking calls made while reconnecting: one promise, however many calls. */
type Pending = {
  promise: Promise<SpeakingResult>;
  resolve: (r: SpeakingResult) => void;
  reject: (e: unknown) => void;
};

/**
 * Connects to an avatar's WHEP endpoint and resolves once its first frame is on screen, so a page
 * never shows a black box. The avatar reconnects by itself and keeps its speaking state.
 */
export async function createAvatar(options: AvatarOptions): Promise<Avatar> {
  checkOptions(options);
  const { url } = options;
  const token = tokenSource(options.token);
  const created = !(options.video instanceof HTMLVideoElement);
  const video = videoIn(options.video);
  const events = createEmitter<AvatarEvents>();
  for (const name in options.on) {
    const event = name as keyof AvatarEvents;
    const listener = options.on[event];
    if (listener) events.on(event, listener);
  }
  const frames = watchFrames(video);
  const latencies: number[] = [];
  const started = performance.now();
  // Aborted by close() (and so by the caller's signal): cancels every wait of every attempt.
  const abort = new AbortController();
  const signal = abort.signal;
  const detachers = new Set<() => void>();
  let linked: RTCIceServer[] = [];
  let state: AvatarState = 'connecting';
  let speaking = false;
  let confirmed = false;
  let peer: Peer | undefined;
  let control: ReturnType<typeof createControl> | undefined;
  let speech: ReturnType<typeof createSpeech> | undefined;
  let ttff: number | undefined;
  let closing: Promise<void> | undefined;
  let pending: Pending | undefined;
  let failAttempt: ((e: AvatarError) => void) | undefined;
  let blocked = false;
  let unGesture: (() => void) | undefined;
  let finalStats: AvatarStats | undefined;
  let lostStats: AvatarStats | undefined;
  let stream: MediaStream | undefined;
  let expired = false;
  const maxReconnectMs = options.maxReconnectMs ?? MAX_RECONNECT_MS;
  const policy = giveUpAfter(backoffPolicy(), maxReconnectMs, () => {
    expired = true;
  });

  const setState = (next: AvatarState) => {
    const previous = state;
    state = next;
    if (next !== previous) events.emit('statechange', next, previous);
  };

  /** One WHEP session, up to its first frame; re-applies the speaking state on the way. */
  async function connect(): Promise<SpeakingResult> {
    const servers = [...(options.iceServers ?? []), ...linked];
    const p = await openPeer(url, token, servers, options.audio ?? true, signal, (w) =>
      events.emit('waiting', w),
    );
    linked = p.linked;
    if (closing) {
      void dropPeer(p);
      throw new AvatarError('closed', 'closed');
    }
    peer = p;
    speech?.fail(lostError());
    control = createControl(p.dc, p.sessionUrl, p.token, (m) => speech?.event(m));
    stream = new MediaStream(p.pc.getReceivers().map((r) => r.track));
    speech = createSpeech(stream, p.dc, p.sessionUrl, p.token, events.emit, control.ask);
    confirmed = blocked = false;
    watchPeer(p.pc, p.dc, () => lost(p));
    video.srcObject = stream;
    let settled = false;
    const shown = new Promise<void>((resolve) => {
      void frames.nextFrame().then(resolve);
      // A background tab may present no frame at all (no rVFC callback): one received will do.
      void frameReceived(p.pc, signal, () => settled).then(resolve, () => {});
      video.play().catch((err: Error) => {
        if (err.name !== 'NotAllowedError') return;
        // Paused until a gesture: no frame is shown, but the session works. Reported once connected.
        blocked = true;
        unGesture?.();
        unGesture = onGesture(() => void video.play().catch(() => {}));
        void loaded(video).then(resolve);
      });
    }).finally(() => {
      settled = true;
    });
    try {
      // Before the first frame the server starts the session in the asked-for loop directly.
      return await Promise.race([
        Promise.all([speaking ? apply() : { speaking, latencyMs: 0 }, shown]).then(([r]) => r),
        new Promise<never>((_, reject) => (failAttempt = reject)),
        sleep(FIRST_FRAME_MS, signal).then(() => {
          throw new AvatarError('timeout', 'no video frame arrived');
        }),
      ]);
    } catch (err) {
      void dropPeer(p);
      throw err;
    }
  }

  /** Connected (again): `ready` (and `reconnected`), and a blocked autoplay reported. */
  function connected(again: boolean) {
    liveness.restart();
    setState('connected');
    if (again) events.emit('reconnected');
    // Later, so that a listener added right after `await createAvatar(...)` hears it.
    setTimeout(() => {
      if (closing) return;
      events.emit('ready');
      if (blocked) events.emit('autoplayblocked');
    });
  }

  /** Sends the wanted state; measures the switch when the server confirms a change. */
  async function apply(): Promise<SpeakingResult> {
    const wanted = speaking;
    const t0 = performance.now();
    const reply = await control!.send(wanted);
    const result = { speaking: reply.speaking, latencyMs: reply.latencyMs };
    if (reply.speaking !== confirmed) {
      confirmed = reply.speaking;
      if (ttff !== undefined) {
        void frames.switchLatency(t0, performance.now()).then((ms) => {
          if (ms === undefined) return;
          latencies.push(ms);
          if (latencies.length > MAX_LATENCIES) latencies.shift();
        });
      }
      events.emit('speakingchange', confirmed, result);
    }
    return result;
  }

  function lost(p: Peer) {
    if (p !== peer || closing) return;
    // Not connected yet: the attempt in progress fails (and is retried, or createAvatar rejects).
    if (state !== 'connected') return failAttempt?.(new AvatarError('network', 'connection lost'));
    // Its last figures are read first: getStats() after a final give-up reports them.
    const last = stats();
    setState('reconnecting');
    control?.fail();
    speech?.fail(lostError());
    void last.then((s) => {
      lostStats = s;
      return dropPeer(p);
    });
    void recover();
  }

  /** Reconnects as the policy says, then settles the setSpeaking calls made meanwhile. */
  async function recover() {
    expired = false;
    const onError = (cause: AvatarError, final: boolean) => {
      if (closing) return;
      const error = final && expired ? gaveUp(cause, maxReconnectMs) : cause;
      // Closed first, so that a listener sees the final state with the error.
      if (final) void end(error, () => events.emit('error', error, true));
      else events.emit('error', error, false);
    };
    const onRetry = (attempt: number, delayMs: number) => {
      if (!closing) events.emit('reconnecting', { attempt, delayMs });
    };
    let result = await reconnect(connect, policy, onError, signal, onRetry).catch(() => {});
    if (!result || closing) return;
    connected(true);
    // Wishes made during the attempt were not in `result`: the waiting calls get the latest.
    const settling = pending;
    pending = undefined;
    try {
      while (result.speaking !== speaking && peer && state === 'connected') result = await apply();
      settling?.resolve(result);
    } catch (err) {
      settling?.reject(err);
    }
  }

  // While connected there is a peer (connect() sets it before connected() runs).
  const liveness = watchLiveness(
    () => inboundBytes(peer!.pc),
    () => state === 'connected',
    () => lost(peer!),
  );
  const onHide = () => peer && void dropPeer(peer);
  addEventListener('pagehide', onHide);

  /**
   * Closes for good and leaves nothing behind (listeners, timers, the video's stream, the session).
   * `error` (a final reconnect failure) is what waiting calls reject with and `disconnected` says;
   * `report` runs once the state is `closed`, before `disconnected`.
   */
  function end(error = new AvatarError('closed', 'the avatar was closed'), report?: () => void) {
    if (closing) return closing;
    // The last figures, read before the peer goes (a closed peer reports nothing).
    const last = peer && state === 'connected' ? stats() : undefined;
    // Set first: a listener called below (statechange, disconnected) may call close() again.
    closing = (async () => {
      finalStats = { ...((await last) ?? lostStats ?? (await stats())), state: 'closed' };
      // Only its own: another avatar (a React remount) may already play in this element.
      if (video.srcObject === stream) video.srcObject = null;
      if (created) video.remove();
      if (peer) await dropPeer(peer);
    })();
    abort.abort();
    options.signal?.removeEventListener('abort', onAbort);
    liveness.stop();
    removeEventListener('pagehide', onHide);
    unGesture?.();
    frames.stop();
    for (const detach of detachers) detach();
    control?.fail();
    speech?.fail(error);
    pending?.reject(error);
    pending = undefined;
    setState('closed');
    report?.();
    events.emit('disconnected', error);
    events.clear();
    return closing;
  }

  const stats = () =>
    peerStats(peer?.pc, {
      state,
      timeToFirstFrameMs: ttff,
      switchLatency: latencySummary(latencies),
    });

  const avatar: Avatar = {
    video,
    get state() {
      return state;
    },
    get speaking() {
      return speaking;
    },
    get sessionUrl() {
      return peer?.sessionUrl;
    },
    setSpeaking(next) {
      if (closing) return Promise.reject(new AvatarError('closed', 'the avatar was closed'));
      if (typeof next !== 'boolean')
        return Promise.reject(new AvatarError('invalid-options', 'setSpeaking takes a boolean'));
      speaking = next;
      // While reconnecting only the latest wish is kept, applied on the new session.
      if (state !== 'connected') {
        pending ??= deferred();
        return pending.promise;
      }
      return apply();
    },
    on: (event, listener) => (closing ? () => {} : events.on(event, listener)),
    once: (event, listener) => (closing ? () => {} : events.once(event, listener)),
    off: events.off,
    async play() {
      await video.play();
      unGesture?.();
      blocked = false;
    },
    speak(source, opts) {
      if (state !== 'connected' || !speech)
        return Promise.reject(
          new AvatarError(closing ? 'closed' : 'network', `the avatar is ${state}`),
        );
      return speech.speak(source, opts);
    },
    interrupt: () => speech?.interrupt() ?? Promise.resolve(),
    get muted() {
      return video.muted;
    },
    async unmute() {
      video.muted = false;
      try {
        await video.play();
        unGesture?.();
        blocked = false;
      } catch (err) {
        // Refused without a gesture: keep playing muted, say so, and try again on the next one.
        video.muted = true;
        void video.play().catch(() => {});
        if ((err as Error).name === 'NotAllowedError') {
          unGesture?.();
          unGesture = onGesture(() => void avatar.unmute().catch(() => {}));
          events.emit('autoplayblocked');
        }
        throw err;
      }
    },
    attachAudio(source, opts) {
      const set = opts?.onSpeaking ?? ((on) => void avatar.setSpeaking(on).catch(() => {}));
      const detach = followAudio(source, set, opts);
      const once = () => {
        detachers.delete(once);
        detach();
      };
      detachers.add(once);
      return once;
    },
    async getStats() {
      if (!closing) return stats();
      await closing;
      return finalStats!;
    },
    close: () => end(),
  };

  const onAbort = () => void end(new AvatarError('aborted', 'aborted by the signal'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (options.signal?.aborted) throw new AvatarError('aborted', 'aborted');
    await connect();
  } catch (err) {
    const error = asAvatarError(err);
    await end(error);
    throw error;
  }
  ttff = performance.now() - started;
  connected(false);
  return avatar;
}

const lostError = () => new AvatarError('network', 'connection lost');

function deferred(): Pending {
  const d = {} as Pending;
  d.promise = new Promise((resolve, reject) => Object.assign(d, { resolve, reject }));
  // Settled by the SDK whether or not the page listens; a page that dropped it has no handler.
  d.promise.catch(() => {});
  return d;
}

/** The final error after `maxReconnectMs`: a timeout, saying what the last attempt met. */
function gaveUp(cause: AvatarError, maxMs: number): AvatarError {
  return new AvatarError(
    'timeout',
    `gave up reconnecting after ${Math.round(maxMs / 1000)} s (last: ${cause.message})`,
    cause.status,
    cause.problem,
  );
}

/**
 * Resolves once the receiver has decoded a frame while the page is hidden: a background tab may
 * never run requestVideoFrameCallback, so "on screen" cannot be the test there.
 */
async function frameReceived(
  pc: RTCPeerConnection,
  signal: AbortSignal,
  settled: () => boolean,
): Promise<void> {
  for (;;) {
    await sleep(HIDDEN_POLL_MS, signal);
    // Shown by other means, or failed: stop polling.
    if (settled() || pc.connectionState === 'closed') throw new AvatarError('closed', 'closed');
    if (document.visibilityState !== 'hidden') continue;
    let decoded = 0;
    (await pc.getStats().catch(() => undefined))?.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') decoded += s.framesDecoded ?? 0;
    });
    if (decoded > 0) return;
  }
}

/** Throws an AvatarError naming the first option that is wrong, or the missing browser. */
function checkOptions(options: AvatarOptions) {
  const bad = (message: string) => new AvatarError('invalid-options', message);
  if (typeof document === 'undefined' || typeof HTMLElement === 'undefined')
    throw new AvatarError(
      'unsupported',
      'createAvatar runs in a browser page (no DOM here): call it in the browser, e.g. in an effect',
    );
  if (!options || typeof options !== 'object') throw bad('createAvatar needs an options object');
  if (typeof options.url !== 'string' || !options.url)
    throw bad('`url` must be the avatar\'s WHEP endpoint, e.g. "/whep/avatars/default"');
  if (!(options.video instanceof HTMLElement))
    throw bad(
      `\`video\` must be a <video> or a container element, got ${options.video === null ? 'null (a ref not set yet?)' : typeof options.video}`,
    );
  const { token, maxReconnectMs, signal } = options;
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function')
    throw bad('`token` must be a string or a function returning one');
  if (maxReconnectMs !== undefined && !(maxReconnectMs >= 0))
    throw bad('`maxReconnectMs` must be a number of milliseconds, 0 or more');
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw bad('`signal` must be an AbortSignal');
}

/** The given `<video>`, or a new one filling the given container; set to play without a gesture. */
function videoIn(target: HTMLElement): HTMLVideoElement {
  let video = target as HTMLVideoElement;
  if (!(target instanceof HTMLVideoElement)) {
    video = document.createElement('video');
    video.style.cssText = 'width:100%;height:100%;object-fit:cover';
    target.append(video);
  }
  video.muted = video.autoplay = video.playsInline = true;
  video.setAttribute('playsinline', '');
  return video;
}
