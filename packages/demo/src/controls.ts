import type { Avatar } from '@avatar-server/client-sdk';

/** Where Space and Enter keep their own meaning (typing, choosing, pressing another button). */
const OWN_KEYS = 'input, select, textarea, button:not(#hold), [contenteditable]';

/**
 * Wires the controls to an avatar: hold-to-speak (pointer, Space anywhere, Enter on the button, a
 * screen reader's click toggles it), the toggle, and the microphone mode. The avatar speaks while
 * any of them asks. Returns a function that unwires.
 */
export function wireControls(avatar: Avatar): () => void {
  const hold = document.getElementById('hold') as HTMLButtonElement;
  const toggle = document.getElementById('toggle') as HTMLInputElement;
  const mic = document.getElementById('mic') as HTMLButtonElement;
  const wants = { hold: false, toggle: toggle.checked, mic: false };
  let detachMic: (() => void) | undefined;
  let stream: MediaStream | undefined;
  let keyAt = 0;

  const update = () => {
    hold.setAttribute('aria-pressed', String(wants.hold));
    const on = wants.hold || wants.toggle || wants.mic;
    if (on !== avatar.speaking) avatar.setSpeaking(on).catch(() => {});
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
  // A click without a pointer press (detail 0) and not from a key: a screen reader activated it.
  hold.addEventListener(
    'click',
    (e) => {
      if (e.detail === 0 && performance.now() - keyAt > 500) press(!wants.hold);
    },
    opts,
  );
  const isKey = (e: KeyboardEvent) =>
    e.code === 'Space' || ((e.key === 'Enter' || e.code === 'Enter') && e.target === hold);
  addEventListener(
    'keydown',
    (e) => {
      if (!isKey(e) || (e.target instanceof Element && e.target.closest(OWN_KEYS))) return;
      e.preventDefault();
      keyAt = performance.now();
      if (!e.repeat) press(true);
    },
    opts,
  );
  addEventListener(
    'keyup',
    (e) => {
      if (!isKey(e)) return;
      keyAt = performance.now();
      press(false);
    },
    opts,
  );
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
      // The SDK turns the voice level into on/off, with hysteresis; combined with the others here.
      detachMic = avatar.attachAudio(stream, {
        onSpeaking: (on) => {
          wants.mic = on;
          update();
        },
      });
      mic.setAttribute('aria-pressed', 'true');
      mic.textContent = 'Listening…';
    },
    opts,
  );
  for (const el of [hold, toggle, mic]) el.disabled = false;
  // A new avatar starts idle: the toggle may already be on.
  update();
  return () => {
    controller.abort();
    stopMic();
    wants.mic = false;
    for (const el of [hold, toggle, mic]) el.disabled = true;
  };
}
