import type { Avatar } from '@avatar-server/client-sdk';

/** `GET /features`: whether the server has text to speech (`tts.command`); none from an older one. */
export async function serverFeatures(): Promise<{ tts: boolean }> {
  try {
    const res = await fetch('/features');
    if (res.ok) return { tts: (await res.json()).tts === true };
  } catch {}
  return { tts: false };
}

/**
 * The avatar's voice: an audio file picked or dropped on the video is said by the avatar (the
 * SDK's `speak`), a text box says typed text when the server has text-to-speech, "Stop talking"
 * interrupts, and "Sound on" unmutes (the SDK starts muted so that the video may autoplay).
 * Returns a function that unwires.
 */
export function wireVoice(avatar: Avatar, tts: boolean): () => void {
  const stage = document.getElementById('stage')!;
  const pick = document.getElementById('pick') as HTMLInputElement;
  const form = document.getElementById('say') as HTMLFormElement;
  const text = document.getElementById('say-text') as HTMLInputElement;
  const sayButton = document.getElementById('say-button') as HTMLButtonElement;
  const stop = document.getElementById('stop') as HTMLButtonElement;
  const unmute = document.getElementById('unmute') as HTMLButtonElement;
  const status = document.getElementById('voice-status')!;
  const controller = new AbortController();
  const opts = { signal: controller.signal };
  const show = (message: string) => {
    status.textContent = message;
  };

  const say = (source: Blob) => {
    show('Sending…');
    avatar.speak(source).then(
      (r) => show(r.interrupted ? 'Stopped' : ''),
      (err: Error) => show(`Could not say it: ${err.message}`),
    );
  };
  pick.addEventListener(
    'change',
    () => {
      const file = pick.files?.[0];
      if (file) say(file);
      pick.value = '';
    },
    opts,
  );
  stage.addEventListener(
    'dragover',
    (e) => {
      e.preventDefault();
      stage.dataset.drop = 'true';
    },
    opts,
  );
  stage.addEventListener('dragleave', () => delete stage.dataset.drop, opts);
  stage.addEventListener(
    'drop',
    (e) => {
      e.preventDefault();
      delete stage.dataset.drop;
      const file = e.dataTransfer?.files[0];
      if (file) say(file);
    },
    opts,
  );

  // The server turns text into speech (its `tts.command`) and plays it like any utterance.
  form.hidden = !tts;
  form.addEventListener(
    'submit',
    async (e) => {
      e.preventDefault();
      const words = text.value.trim();
      if (!words || !avatar.sessionUrl) return;
      show('Sending…');
      const res = await fetch(`${avatar.sessionUrl.replace(/\/?$/, '')}/say`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: words }),
      }).catch((err: Error) => err);
      if (res instanceof Error || !res.ok) {
        const detail =
          res instanceof Error ? res.message : (await res.json().catch(() => ({}))).detail;
        return show(`Could not say it: ${detail ?? 'the server refused'}`);
      }
      text.value = '';
      show('');
    },
    opts,
  );

  stop.addEventListener('click', () => void avatar.interrupt().catch(() => {}), opts);
  const renderSound = () => {
    unmute.setAttribute('aria-pressed', String(!avatar.muted));
    unmute.textContent = avatar.muted ? 'Sound on' : 'Sound off';
  };
  unmute.addEventListener(
    'click',
    () => {
      if (!avatar.muted) {
        avatar.video.muted = true;
        return renderSound();
      }
      avatar.unmute().then(renderSound, () => {
        show('The browser blocked the sound: click again');
        renderSound();
      });
    },
    opts,
  );
  const offs = [
    avatar.on('speechstart', () => {
      stop.disabled = false;
      show('Talking…');
    }),
    avatar.on('speechend', (s) => {
      stop.disabled = true;
      show(s.interrupted ? 'Stopped' : '');
    }),
  ];
  renderSound();
  for (const el of [pick, sayButton, unmute]) el.disabled = false;
  return () => {
    controller.abort();
    for (const off of offs) off();
    for (const el of [pick, sayButton, unmute, stop]) el.disabled = true;
  };
}
