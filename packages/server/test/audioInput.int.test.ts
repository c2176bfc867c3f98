import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { WhepTestClient, waitFor } from '@avatar-server/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioCapture, decodeOpus, rms, toneL16, tonePower, toneWav } from './support/audio.js';
import { startTestServer, type TestServer } from './support/testServer.js';

let server: TestServer;
let endpoint: string;

beforeAll(async () => {
  server = await startTestServer({
    workers: 1,
    audio: { maxUploadMb: 1, stallMs: 600, maxQueue: 3 },
    // A real command writing a WAV: a 600 ms tone (ffmpeg stands in for a speech synthesizer).
    tts: {
      command: [
        'ffmpeg',
        '-nostdin',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:duration=0.6',
        '-y',
        '{out}',
      ],
    },
  });
  endpoint = `${server.url}/whep/avatars/default`;
});
afterAll(async () => {
  await server?.stop();
});

async function connected() {
  const client = new WhepTestClient({ audio: true });
  const capture = new AudioCapture(client);
  expect((await client.connect(endpoint)).status).toBe(201);
  await client.waitForControlChannel();
  await client.waitForFrames(3);
  return { client, capture };
}

/** Frames keep coming: the session still streams. */
async function stillStreaming(client: WhepTestClient) {
  await client.waitForFrames(client.frames.length + 5);
}

/** Frames of decoded audio carrying a 440 Hz tone. */
function toneFrames(capture: AudioCapture) {
  return decodeOpus(capture.packets).filter(
    (f) => rms(f) > 0.05 && tonePower(f, 440) > 10 * tonePower(f, 1000),
  ).length;
}

type Sent = { status: number; body: Record<string, unknown> };

/**
 * A POST with a chunked body written by `write` (node:http, so the test controls every chunk and
 * the pauses between them); resolves with the answer, whenever it comes.
 */
function chunkedPost(
  url: string,
  contentType: string,
  write: (
    chunk: (data: Buffer) => boolean,
    end: () => void,
    answered: () => boolean,
  ) => Promise<void>,
): Promise<Sent> {
  let done = false;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      // A connection of its own: a refused upload's connection is closed by the server.
      agent: false,
      method: 'POST',
      headers: { 'Content-Type': contentType, 'Transfer-Encoding': 'chunked' },
    });
    req.on('response', (res) => {
      done = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
    });
    req.on('error', (err) => {
      // The server closes the connection of a refused upload after answering: a write may fail
      // just before the answer is read. Only an error with no answer after it fails the request.
      setTimeout(() => {
        if (!done) reject(err);
      }, 1000);
    });
    void write(
      (data) => !req.destroyed && req.write(data),
      () => req.end(),
      () => done || req.destroyed,
    );
  });
}

/**
 * Writes a chunked upload of `total` bytes on a raw socket, as fast as the socket takes it, and
 * stops at the server's answer: its status, body text, and the bytes written by then.
 */
function rawChunkedUpload(
  url: string,
  contentType: string,
  total: number,
): Promise<{ status: number; text: string; written: number }> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    let written = 0;
    let answered = false;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      answer += text;
      const status = /^HTTP\/1\.1 (\d+)/.exec(answer);
      if (!status || !answer.includes('\r\n\r\n')) return;
      answered = true;
      // The body is complete once its JSON closes (the server answers with a short problem).
      if (answer.trimEnd().endsWith('}')) {
        socket.destroy();
        resolve({ status: Number(status[1]), text: answer, written });
      }
    });
    socket.on('error', (err) => {
      if (!answered) reject(err);
    });
    socket.on('connect', async () => {
      socket.write(
        `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const block = Buffer.alloc(64 * 1024);
      const head = `${block.length.toString(16)}\r\n`;
      while (written < total && !answered && !socket.destroyed) {
        const more = socket.write(Buffer.concat([Buffer.from(head), block, Buffer.from('\r\n')]));
        written += block.length;
        if (!more) await new Promise((r) => socket.once('drain', r));
      }
    });
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('streamed audio', () => {
  it('plays audio/L16 streamed in a chunked body as it arrives', async () => {
    const { client, capture } = await connected();
    try {
      const pcm = toneL16(1000, 440, 24_000);
      const sent = await chunkedPost(
        `${client.location}/audio`,
        'audio/L16;rate=24000;channels=1',
        async (chunk, end) => {
          // 10 chunks of 100 ms, one every 100 ms, cut at odd byte offsets.
          for (let i = 0; i < 10; i++) {
            chunk(pcm.subarray(i * 4801, Math.min(pcm.length, (i + 1) * 4801)));
            await pause(100);
          }
          chunk(pcm.subarray(10 * 4801));
          end();
        },
      );
      expect(sent.status).toBe(202);
      expect(sent.body.durationMs).toBe(1000);
      await waitFor(() => client.events.some((e) => e.event === 'drained'), {
        what: 'the drained event',
      });
      // Playing began before the body ended: the first packet came within the first chunks.
      expect(toneFrames(capture)).toBeGreaterThanOrEqual(45);
    } finally {
      await client.close();
    }
  });

  it('plays PCM streamed on the data channel between audio-start and audio-end', async () => {
    const { client, capture } = await connected();
    try {
      const start = await client.request({
        type: 'audio-start',
        rate: 16_000,
        endianness: 'little-endian',
        id: 1,
      });
      expect(start).toMatchObject({ type: 'audio-start', id: 1, queued: 0 });
      const big = toneL16(800, 440, 16_000);
      const little = Buffer.alloc(big.length);
      for (let i = 0; i < big.length; i += 2) little.writeInt16LE(big.readInt16BE(i), i);
      for (let i = 0; i < little.length; i += 3200)
        client.control!.send(little.subarray(i, i + 3200));
      const end = await client.request({ type: 'audio-end', id: 2 });
      expect(end).toMatchObject({
        type: 'audio-end',
        id: 2,
        utterance: start.utterance,
        durationMs: 800,
      });
      await waitFor(() => client.events.some((e) => e.event === 'drained'), {
        what: 'the drained event',
      });
      expect(client.events.map((e) => e.event)).toEqual(['start', 'end', 'drained']);
      expect(client.events[0]!.id).toBe(start.utterance);
      expect(toneFrames(capture)).toBeGreaterThanOrEqual(35);
      // A binary message outside a stream, and a bad rate, get an error on the channel.
      const badRate = await client.request({ type: 'audio-start', rate: 8000, id: 3 });
      expect(badRate).toMatchObject({ type: 'error', id: 3 });
      expect(badRate.detail).toMatch(/rate 8000/);
      // Interrupt over the channel.
      const interrupt = await client.request({ type: 'interrupt', id: 4 });
      expect(interrupt).toMatchObject({ type: 'interrupt', id: 4, dropped: 0 });
    } finally {
      await client.close();
    }
  });

  it('ends a stream that stalls mid-utterance: 408, what arrived plays, the session streams on', async () => {
    const { client, capture } = await connected();
    try {
      const sent = await chunkedPost(
        `${client.location}/audio`,
        'audio/L16;rate=48000;channels=1',
        async (chunk) => {
          chunk(toneL16(300, 440, 48_000));
          // …and nothing more: the server gives up after stallMs (600 ms).
        },
      );
      expect(sent.status).toBe(408);
      expect(sent.body.detail).toMatch(/no audio bytes for 600 ms/);
      await waitFor(() => client.events.some((e) => e.event === 'drained'), {
        what: 'the drained event',
      });
      expect(toneFrames(capture)).toBeGreaterThanOrEqual(12);
      await stillStreaming(client);
    } finally {
      await client.close();
    }
  });
});

describe('bad audio input', () => {
  it('refuses what is not audio, a bad PCM rate, a big upload and an ended session; the session streams on', async () => {
    const { client } = await connected();
    const audioUrl = `${client.location}/audio`;
    const post = (type: string, body: string | Buffer) =>
      fetch(audioUrl, { method: 'POST', headers: { 'Content-Type': type }, body });
    const problem = async (response: Response, status: number, detail: RegExp) => {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(((await response.json()) as { detail: string }).detail).toMatch(detail);
      await stillStreaming(client);
    };
    try {
      await problem(await post('text/plain', 'hello'), 415, /text\/plain is not audio/);
      await problem(
        await post(
          'audio/wav',
          Buffer.from('this is not a wav file at all, just text '.repeat(40)),
        ),
        422,
        /not audio ffmpeg can read/,
      );
      await problem(
        await post('audio/L16;rate=8000;channels=1', toneL16(100, 440, 8000)),
        415,
        /rate 8000/,
      );
      await problem(await post('audio/L16;rate=24000;channels=2', Buffer.alloc(100)), 415, /mono/);
      // Over audio.maxUploadMb (1 MB): by its Content-Length, refused before reading.
      const big = await post('audio/wav', Buffer.alloc(1_500_000)).catch((err: Error) => {
        throw new Error(
          `the Content-Length upload failed: ${err.message} ${String((err as { cause?: unknown }).cause)}`,
        );
      });
      await problem(big, 413, /larger than 1 MB/);
      // …and chunked, without a length: 100 MB offered in 64 KiB chunks on a raw socket (which
      // reads the answer whenever it comes), stopped when the answer comes.
      const chunked = await rawChunkedUpload(audioUrl, 'audio/wav', 100e6);
      expect(chunked.status).toBe(413);
      expect(chunked.text).toMatch(/larger than 1 MB/);
      expect(chunked.written, 'the upload was refused long before 100 MB').toBeLessThan(20e6);
      await stillStreaming(client);

      // An ended session: 404.
      await fetch(client.location, { method: 'DELETE' });
      const gone = await post('audio/wav', toneWav([{ ms: 100, freq: 440 }]));
      expect(gone.status).toBe(404);
    } finally {
      await client.close();
    }
  });

  it('bounds the queue per session (429) and says when setSpeaking is overridden by the audio', async () => {
    const { client } = await connected();
    try {
      const wav = toneWav([{ ms: 2000, freq: 440 }]);
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${client.location}/audio`, {
          method: 'POST',
          body: wav,
          headers: { 'Content-Type': 'audio/wav' },
        });
        expect(r.status).toBe(202);
      }
      const full = await fetch(`${client.location}/audio`, {
        method: 'POST',
        body: wav,
        headers: { 'Content-Type': 'audio/wav' },
      });
      expect(full.status).toBe(429);
      expect(full.headers.get('retry-after')).toBeTruthy();
      // Once the voice moves the face, the application's setSpeaking changes nothing.
      await waitFor(
        async () =>
          ((await (await fetch(client.location)).json()) as { speaking: boolean }).speaking,
        { what: 'the face to speak' },
      );
      const change = await fetch(`${client.location}/speaking`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ speaking: false }),
      });
      expect(await change.json()).toMatchObject({ speaking: true, audio: true });
      expect((await fetch(`${client.location}/audio`, { method: 'DELETE' })).status).toBe(200);
    } finally {
      await client.close();
    }
  });
});

describe('text to speech and /streams', () => {
  it('says a text with tts.command, and /features tells the page', async () => {
    const features = await (await fetch(`${server.url}/features`)).json();
    expect(features).toEqual({ audio: true, tts: true });
    const { client, capture } = await connected();
    try {
      const said = await fetch(`${client.location}/say`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: 'Hello there' }),
      });
      expect(said.status).toBe(202);
      expect(((await said.json()) as { durationMs: number }).durationMs).toBe(600);
      await waitFor(() => client.events.some((e) => e.event === 'drained'), {
        what: 'the drained event',
      });
      expect(toneFrames(capture)).toBeGreaterThanOrEqual(25);
      const empty = await fetch(`${client.location}/say`, { method: 'POST', body: '{}' });
      expect(empty.status).toBe(400);
    } finally {
      await client.close();
    }
  });

  it('/streams with "audio": true offers an Opus track in the video MediaStream', async () => {
    const response = await fetch(`${server.url}/streams`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ video_id: 'default', audio: true }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as {
      offer: { sdp: string };
      urls: Record<string, string>;
    };
    const sections = body.offer.sdp.split(/\r?\nm=/);
    const audio = sections.find((s) => s.startsWith('audio '));
    const video = sections.find((s) => s.startsWith('video '));
    expect(audio).toMatch(/a=rtpmap:\d+ opus\/48000\/2/i);
    expect(audio).toContain('a=sendonly');
    const streamOf = (s: string | undefined) => /a=msid:(\S+) /.exec(s ?? '')?.[1];
    expect(streamOf(audio)).toBe(streamOf(video));
    expect(body.urls.audio).toBe(`${body.urls.session}/audio`);
    await fetch(body.urls.session!, { method: 'DELETE' });
    // Without it, no audio section (as before).
    const plain = await fetch(`${server.url}/streams`, { method: 'POST', body: '{}' });
    const plainBody = (await plain.json()) as {
      offer: { sdp: string };
      urls: Record<string, string>;
    };
    expect(plainBody.offer.sdp).not.toMatch(/m=audio/);
    await fetch(plainBody.urls.session!, { method: 'DELETE' });
  });
});
