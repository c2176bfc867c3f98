import { type Avatar, createAvatar } from '@avatar-server/client-sdk';
import './style.css';
import { avatarList } from './avatarList.js';
import { wireControls } from './controls.js';
import { preparingText, showPreparing } from './preparing.js';
import { showStats } from './statsPanel.js';
import { serverFeatures, wireVoice } from './voice.js';

const params = new URLSearchParams(location.search);
const stage = document.getElementById('stage')!;
const video = document.getElementById('avatar') as HTMLVideoElement;
const badge = document.getElementById('badge')!;
const overlayText = document.getElementById('overlay-text')!;
const tap = document.getElementById('tap') as HTMLButtonElement;
const select = document.getElementById('avatars') as HTMLSelectElement;

const BADGE = {
  connecting: 'Connecting',
  connected: 'Live',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
};
let stop: (() => void) | undefined;
let current: Avatar | undefined;
/** The connection attempt in progress: a newer choice aborts it, so only one avatar plays. */
let attempt: AbortController | undefined;

const failed = (message: string) => {
  stage.dataset.state = 'failed';
  overlayText.textContent = message;
  badge.textContent = 'Offline';
};

// The browser refused to play without a gesture (the SDK says so with `autoplayblocked`).
tap.addEventListener('click', () => {
  tap.hidden = true;
  void (current?.play() ?? video.play()).catch(() => {
    tap.hidden = false;
  });
});
video.addEventListener('playing', () => {
  tap.hidden = true;
});

/** Connects to one avatar and wires the page to it; the page keeps working across reconnects. */
async function show(id: string) {
  attempt?.abort();
  const controller = new AbortController();
  attempt = controller;
  stop?.();
  stop = undefined;
  const previous = current;
  current = undefined;
  await previous?.close();
  if (controller.signal.aborted) return;
  stage.dataset.state = 'connecting';
  overlayText.textContent = 'Connecting…';
  badge.textContent = BADGE.connecting;
  let avatar: Avatar;
  // While the server prepares the avatar (its first compile) the SDK waits and says so.
  const preparing = showPreparing(id, overlayText, badge);
  try {
    avatar = await createAvatar({
      url: `/whep/avatars/${encodeURIComponent(id)}`,
      video,
      signal: controller.signal,
      // `?audio=0`: no voice track (the benchmarks compare switching with and without it).
      audio: params.get('audio') !== '0',
      on: { waiting: preparing.update },
    });
  } catch (err) {
    // Aborted: a newer choice replaced this one, and shows its own state.
    if (!controller.signal.aborted) failed(`Could not connect: ${(err as Error).message}`);
    return;
  } finally {
    preparing.stop();
  }
  current = avatar;
  // For the browser console and the end-to-end tests.
  Object.assign(window, { avatar });
  const render = () => {
    if (avatar.state === 'closed') return;
    stage.dataset.state = avatar.state;
    const speaking = avatar.speaking && avatar.state === 'connected';
    stage.dataset.speaking = String(speaking);
    badge.textContent = speaking ? 'Speaking' : BADGE[avatar.state];
    overlayText.textContent = 'Reconnecting…';
  };
  // A restarted server may be compiling again: say so instead of "Reconnecting…".
  avatar.on('waiting', (wait) => {
    if (avatar.state === 'reconnecting') overlayText.textContent = preparingText(wait);
  });
  avatar.on('statechange', render);
  avatar.on('speakingchange', render);
  avatar.on('autoplayblocked', () => {
    tap.hidden = false;
  });
  // The SDK gave up (e.g. the avatar was removed): say why. close() by the page says nothing.
  avatar.on('disconnected', (err) => {
    if (current === avatar && err.reason !== 'closed' && err.reason !== 'aborted')
      failed(`Disconnected: ${err.message}`);
  });
  render();
  const unwire = wireControls(avatar);
  const unvoice = wireVoice(avatar, (await features).tts);
  const unstats = showStats(avatar);
  stop = () => {
    unwire();
    unvoice();
    unstats();
  };
}

/** What the server offers (text to speech or not), asked once while the first avatar connects. */
const features = serverFeatures();
const ids = await avatarList(params);
const first = params.get('avatar') ?? ids[0] ?? 'default';
if (ids.length > 1) {
  select.replaceChildren(...ids.map((id) => new Option(id, id, false, id === first)));
  select.addEventListener('change', () => void show(select.value));
  document.getElementById('picker')!.hidden = false;
}
await show(first);
