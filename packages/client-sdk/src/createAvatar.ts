import { followAudio, onGesture } from './audio.js';
import { createControl } from './control.js';
import { createEmitter } from './emitter.js';
import { AvatarError, asAvatarError } from './errors.js';
import { loaded, watchFrames } from './frames.js';
import { inboundBytes, watchLiveness, watchPeer } from './liveness.js';
import { dropPeer, openPeer, type Peer } from './peer.js';
import { backoffPolicy, reconnect } from './reconnect.js';
import { latencySummary, peerStats } from './stats.js';
import type { Avatar, AvatarEvents, AvatarOptions, AvatarState, SpeakingResult } from './types.js';
import { sleep } from './whep.js';

const FIRST_FRAME_MS = 15_000;
const MAX_LATENCIES = 500;

type Waiter = [resolve: (r: SpeakingResult) => void, reject: (e: unknown) => void];

/**
 * Connects to an avatar's WHEP endpoint and resolves once its first frame is on screen, so a page
 * never shows a black box. The avatar reconnects by itself and keeps its speaking state.
 */
export async function createAvatar(options: AvatarOptions): Promise<Avatar> {
  const { url, token } = options;
  const created = !(options.video instanceof HTMLVideoElement);
  const video = videoIn(options.video);
  const events = createEmitter<AvatarEvents>();
  for (const name in options.on) {
    const event = name as keyof AvatarEvents;
    events.on(event, options.on[event]!);
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
  let ttff: number | undefined;
  let closing: Promise<void> | undefined;
  let waiting: Waiter[] = [];
  let failAttempt: ((e: AvatarError) => void) | undefined;
  let blocked = false;
  const policy = backoffPolicy();

  const setState = (next: AvatarState) => {
    const previous = state;
    state = next;
    if (next !== previous) events.emit('statechange', next, previous);
  };

  /** One WHEP session, up to its first frame; re-applies the speaking state on the way. */
  async function connect(): Promise<SpeakingResult> {
    const servers = [...(options.iceServers ?? []), ...linked];
    const p = await openPeer(url, token, servers, signal, (w) => events.emit('waiting', w));
    linked = p.linked;
    if (closing) {
      void dropPeer(p, token);
      throw new AvatarError('closed', 'closed');
    }
    peer = p;
    control = createControl(p.dc, p.sessionUrl, token);
    confirmed = blocked = false;
    watchPeer(p.pc, p.dc, () => lost(p));
    video.srcObject = new MediaStream(p.pc.getReceivers().map((r) => r.track));
    const shown = new Promise<void>((resolve) => {
      void frames.nextFrame().then(resolve);
      video.play().catch((err: Error) => {
        if (err.name !== 'NotAllowedError') return;
        // Paused until a gesture: no frame is shown, but the session works. Reported once connected.
        blocked = true;
        onGesture(() => void video.play().catch(() => {}));
        void loaded(video).then(resolve);
      });
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
      void dropPeer(p, token);
      throw err;
    }
  }

  /** Connected (again): `ready`, and a blocked autoplay reported. */
  function connected() {
    liveness.restart();
    setState('connected');
    // Later, so that a listener added right after `await createAvatar(...)` hears it.
    setTimeout(() => {
      if (closing) return;
      events.emit('ready');
      if (blocked)
        events.emit('error', new AvatarError('autoplay', 'playback needs a user gesture'));
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
    setState('reconnecting');
    control?.fail();
    void dropPeer(p, token);
    void recover();
  }

  /** Reconnects as the policy says, then settles the setSpeaking calls made meanwhile. */
  async function recover() {
    const onError = (error: AvatarError, final: boolean) => {
      if (closing) return;
      // Closed first, so that a listener sees the final state with the error.
      if (final) void end(error);
      events.emit('error', error);
    };
    let result = await reconnect(connect, policy, onError, signal).catch(() => {});
    if (!result || closing) return;
    connected();
    // Wishes made during the attempt were not in `result`: the waiting calls get the latest.
    const settling = waiting;
    waiting = [];
    try {
      while (result.speaking !== speaking && peer && state === 'connected') result = await apply();
      for (const [resolve] of settling) resolve(result);
    } catch (err) {
      for (const [, reject] of settling) reject(err);
    }
  }

  // While connected there is a peer (connect() sets it before connected() runs).
  const liveness = watchLiveness(
    () => inboundBytes(peer!.pc),
    () => state === 'connected',
    () => lost(peer!),
  );
  const onHide = () => peer && void dropPeer(peer, token);
  addEventListener('pagehide', onHide);

  /** Closes for good: `error` (a final reconnect failure) is what waiting calls reject with. */
  function end(error = new AvatarError('closed', 'the avatar was closed')) {
    closing ??= (async () => {
      abort.abort();
      liveness.stop();
      removeEventListener('pagehide', onHide);
      frames.stop();
      for (const detach of detachers) detach();
      control?.fail();
      for (const [, reject] of waiting) reject(error);
      waiting = [];
      setState('closed');
      if (created) video.remove();
      if (peer) await dropPeer(peer, token);
    })();
    return closing;
  }

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
      speaking = next;
      // While reconnecting the wish is kept and applied on the new session.
      if (state !== 'connected') return new Promise((...w) => waiting.push(w));
      return apply();
    },
    on: events.on,
    off: events.off,
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
    getStats: () =>
      peerStats(peer?.pc, {
        state,
        timeToFirstFrameMs: ttff,
        switchLatency: latencySummary(latencies),
      }),
    close: () => end(),
  };

  options.signal?.addEventListener('abort', () => void avatar.close(), { once: true });
  try {
    if (options.signal?.aborted) throw new AvatarError('aborted', 'aborted');
    await connect();
  } catch (err) {
    await avatar.close();
    throw asAvatarError(err);
  }
  ttff = performance.now() - started;
  connected();
  return avatar;
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
