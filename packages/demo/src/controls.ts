import type { Avatar } from '@avatar-server/client-sdk';

/**
 * Wires the controls to an avatar: hold-to-speak (pointer and Space), the toggle, and the
 * microphone mode (attachAudio drives the avatar directly). Returns a function that unwires.
 */
export function wireControls(avatar: Avatar): () => void {
  const hold = document.getElementById('hold') as HTMLButtonElement;
  const toggle = document.getElementById('toggle') as HTMLInputElement;
  const mic = document.getElementById('mic') as HTMLButtonElement;
  const wants = { hold: false, toggle: toggle.checked };
  let sent = avatar.speaking;
  let detachMic: (() => void) | undefined;
  let stream: MediaStream | undefined;

  const update = () => {
    hold.setAttribute('aria-pressed', String(wants.hold));
    const on = wants.hold || wants.toggle;
    if (on === sent) return;
    sent = on;
    avatar.setSpeaking(on).catch(() => {});
  };
  const press = (on: boolean) => {
    if (wants.hold === on) return;
    wants.hold = on;
    update();
  };

  const controller = new AbortController();
  const opts = { signal: controller.signal };
  hold.addEventListener('pointerdown', () => press(true), opts);
  for (const type of ['pointerup', 'pointerleave', 'pointercancel']) {
    hold.addEventListener(type, () => press(false), opts);
  }
  addEventListener(
    'keydown',
    (e) => {
      if (e.code !== 'Space' || e.repeat || e.target instanceof HTMLInputElement) return;
      e.preventDefault();
      press(true);
    },
    opts,
  );
  addEventListener('keyup', (e) => e.code === 'Space' && press(false), opts);
  addEventListener('blur', () => press(false), opts);
  toggle.addEventListener(
    'change',
    () => {
      wants.toggle = toggle.checked;
      update();
    },
    opts,
  );
  const stopMic = () => {
    detachMic?.();
    for (const track of stream?.getTracks() ?? []) track.stop();
    detachMic = stream = undefined;
    mic.setAttribute('aria-pressed', 'false');
    mic.textContent = 'Use microphone';
  };
  mic.addEventListener(
    'click',
    async () => {
      if (detachMic) return stopMic();
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch {
        mic.textContent = 'Microphone blocked';
        return;
      }
      // The SDK turns the voice level into setSpeaking calls, with hysteresis.
      detachMic = avatar.attachAudio(stream);
      mic.setAttribute('aria-pressed', 'true');
      mic.textContent = 'Listening…';
    },
    opts,
  );
  for (const el of [hold, toggle, mic]) el.disabled = false;
  return () => {
    controller.abort();
    stopMic();
    for (const el of [hold, toggle, mic]) el.disabled = true;
  };
}
