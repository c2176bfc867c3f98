import { type Avatar, createAvatar } from '@avatar-server/client-sdk';
import './style.css';
import { avatarList } from './avatarList.js';
import { wireControls } from './controls.js';
import { showStats } from './statsPanel.js';

const params = new URLSearchParams(location.search);
const stage = document.getElementById('stage')!;
const video = document.getElementById('avatar') as HTMLVideoElement;
const badge = document.getElementById('badge')!;
const overlayText = document.getElementById('overlay-text')!;
const select = document.getElementById('avatars') as HTMLSelectElement;

const BADGE = {
  connecting: 'Connecting',
  connected: 'Live',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
};
let stop: (() => void) | undefined;
let current: Avatar | undefined;

/** Connects to one avatar and wires the page to it; the page keeps working across reconnects. */
async function show(id: string) {
  stop?.();
  await current?.close();
  stage.dataset.state = 'connecting';
  overlayText.textContent = 'Connecting…';
  try {
    const avatar = await createAvatar({ url: `/whep/avatars/${encodeURIComponent(id)}`, video });
    current = avatar;
    // For the browser console and the end-to-end tests.
    Object.assign(window, { avatar });
    const render = () => {
      stage.dataset.state = avatar.state;
      stage.dataset.speaking = String(avatar.speaking && avatar.state === 'connected');
      badge.textContent =
        avatar.speaking && avatar.state === 'connected' ? 'Speaking' : BADGE[avatar.state];
      overlayText.textContent = 'Reconnecting…';
    };
    avatar.on('statechange', render);
    avatar.on('speakingchange', render);
    render();
    const unwire = wireControls(avatar);
    const unstats = showStats(avatar);
    stop = () => {
      unwire();
      unstats();
    };
  } catch (err) {
    stage.dataset.state = 'failed';
    overlayText.textContent = `Could not connect: ${(err as Error).message}`;
    badge.textContent = 'Offline';
  }
}

const ids = await avatarList(params);
const first = params.get('avatar') ?? ids[0] ?? 'default';
if (ids.length > 1) {
  select.replaceChildren(...ids.map((id) => new Option(id, id, false, id === first)));
  select.addEventListener('change', () => void show(select.value));
  document.getElementById('picker')!.hidden = false;
}
await show(first);
