import type { Page } from '@playwright/test';
import { openDemo } from './demo.js';
import { type EarLevel, installEar } from './ear.js';

export type Speech = { id: string; interrupted: boolean };
export type VoiceAvatar = {
  speak(source: unknown, options?: { rate: number }): Promise<Speech>;
  interrupt(): Promise<void>;
  unmute(): Promise<void>;
  muted: boolean;
  on(event: string, listener: (...args: unknown[]) => void): () => void;
};
export type VoiceWindow = typeof window & {
  avatar: VoiceAvatar;
  heard: { name: string; id?: string; interrupted?: boolean; t: number }[];
  spoken?: Speech | { error: string };
};

/** The demo with the probe (frames) and the ear (audio level); the SDK's events recorded in order. */
export async function openVoiceDemo(page: Page, serverUrl: string, ear = true) {
  await openDemo(page, serverUrl);
  // Web Audio needs a gesture where sound does: that test listens to no level.
  if (ear) await installEar(page);
  await page.evaluate(() => {
    const w = window as VoiceWindow;
    w.heard = [];
    for (const name of ['speechstart', 'speechend', 'autoplayblocked'])
      w.avatar.on(name, (s?: unknown) =>
        w.heard.push({ name, ...(s as Speech | undefined), t: performance.now() }),
      );
  });
}

/** Starts `avatar.speak()` in the page with a WAV (base64) or PCM chunks; `window.spoken` gets the result. */
export function speakInPage(page: Page, audio: Buffer, pcmRate?: number) {
  return page.evaluate(
    ([b64, rate]) => {
      const w = window as VoiceWindow;
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      // PCM as a stream of odd-sized chunks (a sample split between two), as a network would give.
      const source = rate
        ? new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < bytes.length; i += 4801)
                controller.enqueue(bytes.subarray(i, i + 4801));
              controller.close();
            },
          })
        : new Blob([bytes], { type: 'audio/wav' });
      w.spoken = undefined;
      const t0 = performance.now();
      void w.avatar.speak(source, rate ? { rate } : undefined).then(
        (r) => (w.spoken = r),
        (e: Error) => (w.spoken = { error: `${e.name}: ${e.message}` }),
      );
      return t0;
    },
    [audio.toString('base64'), pcmRate ?? 0] as const,
  );
}

export async function spoken(page: Page): Promise<Speech> {
  await page.waitForFunction(() => (window as VoiceWindow).spoken, null, { timeout: 30_000 });
  const result = await page.evaluate(() => (window as VoiceWindow).spoken!);
  if ('error' in result) throw new Error(`speak() failed: ${result.error}`);
  return result;
}

/** The SDK's speech events so far, in order. */
export const heard = (page: Page) => page.evaluate(() => (window as VoiceWindow).heard);

/** Every level the page's ear heard. */
export const allLevels = (page: Page) =>
  page.evaluate(() => (window as unknown as { ear: { levels: EarLevel[] } }).ear.levels);
