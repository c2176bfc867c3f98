import { followAudio } from './audio.js';
import { createControl } from './control.js';
import { createEmitter } from './emitter.js';
import { AvatarError } from './errors.js';
import { watchFrames } from './frames.js';
import { openPeer, type Peer } from './peer.js';
import { latencySummary, peerStats } from './stats.js';
import type { Avatar, AvatarEvents, AvatarOptions, AvatarState, SpeakingResult } from './types.js';
import { deleteSession, sleep } from './whep.js';

/** No frame for this long while connected means the connection is gone (e.g. server restart). */
const STALL_MS = 4000;
/** A `disconnected` ICE state may recover by itself; after this long it counts as lost. */
const DISCONNECTED_MS = 2000;
const FIRST_FRAME_MS = 15_000;
const MAX_LATENCIES = 500;

type Waiter = [resolve: (r: SpeakingResult) => void, reject: (e: unknown) => void];

/**
 * Connects to an avatar's WHEP endpoint and resolves once its first frame is on screen, so a page
 * never shows a black box. The avatar reconnects by itself and keeps its speaking state.
 */
export async function createAvatar(options: AvatarOptions): Promise<Avatar> {
  const { url, token, signal } = options;
  const video = videoIn(options.video);
  const events = createEmitter<AvatarEvents>();
  const frames = watchFrames(video);
  const latencies: number[] = [];
  const started = performance.now();
  let state: AvatarState = 'connecting';
  let speaking = false;
  let confirmed = false;
  let peer: Peer | undefined;
  let control: ReturnType<typeof createControl> | undefined;
  let ttff: number | undefined;
  let closing: Promise<void> | undefined;
  let waiting: Waiter[] = [];

  const setState = (next: AvatarState) => {
    const previous = state;
    state = next;
    if (next !== previous) events.emit('statechange', next, previous);
  };

  /** One WHEP session, up to its first frame; re-applies the speaking state on the way. */
  async function connect(): Promise<SpeakingResult> {
    const p = await openPeer(url, token, options.iceServers ?? [], signal);
    if (closing) {
      p.pc.close();
      throw new AvatarError('closed', 'closed');
    }
    peer = p;
    control = createControl(p.dc, p.sessionUrl, token);
    confirmed = false;
    p.pc.addEventListener('connectionstatechange', () => {
      const s = p.pc.connectionState;
      if (s === 'failed') lost(p);
      if (s === 'disconnected') {
        setTimeout(() => p.pc.connectionState === 'disconnected' && lost(p), DISCONNECTED_MS);
      }
    });
    p.dc.addEventListener('close', () => lost(p));
    video.srcObject = new MediaStream(p.pc.getReceivers().map((r) => r.track));
    video.play().catch(() => {});
    // Before the first frame the server starts the session in the asked-for loop directly.
    const result = speaking ? await apply() : { speaking, latencyMs: 0 };
    await Promise.race([
      frames.nextFrame(),
      sleep(FIRST_FRAME_MS, signal).then(() => {
        throw new AvatarError('timeout', 'no video frame arrived');
      }),
    ]);
    return result;
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
    if (p !== peer || closing || state === 'reconnecting') return;
    setState('reconnecting');
    control?.fail();
    p.pc.close();
    void deleteSession(p.sessionUrl, token);
    void reconnect();
  }

  async function reconnect() {
    for (let attempt = 0; !closing; attempt++) {
      // Exponential backoff with jitter, so many viewers of a restarted server do not arrive at once.
      await sleep(Math.min(8000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2));
      if (closing) return;
      let result: SpeakingResult;
      try {
        result = await connect();
      } catch (err) {
        peer?.pc.close();
        events.emit('error', asAvatarError(err));
        continue;
      }
      setState('connected');
      setTimeout(() => events.emit('ready'));
      // A wish made during the attempt was not in `result`: apply the latest one.
      if (speaking !== result.speaking) result = await apply().catch(() => result);
      for (const [resolve] of waiting) resolve(result);
      waiting = [];
      return;
    }
  }

  const watchdog = setInterval(() => {
    const stalled = performance.now() - frames.lastFrameAt > STALL_MS;
    if (state === 'connected' && stalled && document.visibilityState === 'visible' && peer) {
      lost(peer);
    }
  }, 1000);
  const onHide = () => peer && void deleteSession(peer.sessionUrl, token);
  addEventListener('pagehide', onHide);

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
      if (closing) return Promise.reject(new AvatarError('closed', 'the avatar is closed'));
      speaking = next;
      // While reconnecting the wish is kept and applied on the new session.
      if (state !== 'connected') return new Promise((...w) => waiting.push(w));
      return apply();
    },
    on: events.on,
    off: events.off,
    attachAudio: (source, opts) =>
      followAudio(source, (on) => void avatar.setSpeaking(on).catch(() => {}), opts),
    getStats: () =>
      peerStats(peer?.pc, {
        state,
        timeToFirstFrameMs: ttff,
        switchLatency: latencySummary(latencies),
      }),
    close() {
      closing ??= (async () => {
        clearInterval(watchdog);
        removeEventListener('pagehide', onHide);
        frames.stop();
        control?.fail();
        for (const [, reject] of waiting)
          reject(new AvatarError('closed', 'the avatar was closed'));
        waiting = [];
        setState('closed');
        peer?.pc.close();
        if (peer) await deleteSession(peer.sessionUrl, token);
      })();
      return closing;
    },
  };

  signal?.addEventListener('abort', () => void avatar.close(), { once: true });
  try {
    await connect();
  } catch (err) {
    await avatar.close();
    throw asAvatarError(err);
  }
  ttff = performance.now() - started;
  setState('connected');
  // Later, so that a listener added right after `await createAvatar(...)` hears it.
  setTimeout(() => events.emit('ready'));
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

function asAvatarError(err: unknown): AvatarError {
  return err instanceof AvatarError
    ? err
    : new AvatarError('network', String((err as Error)?.message ?? err));
}
