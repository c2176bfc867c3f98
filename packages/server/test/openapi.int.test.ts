import { type StreamCreated, StreamsTestClient, WhepTestClient } from '@avatar-server/testkit';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { openApiDocument } from '../src/http/openapi.js';
import { toneWav } from './support/audio.js';
import { startTestServer, type TestServer } from './support/testServer.js';

/**
 * The served OpenAPI 3.1 document against real responses: every response checked here must be
 * documented for its path, method and status, and its JSON body must match the schema there.
 */

let server: TestServer;
let doc: ReturnType<typeof openApiDocument>;
const ajv = new Ajv2020({ strict: false, validateFormats: false });

beforeAll(async () => {
  server = await startTestServer();
  doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as typeof doc;
  ajv.addSchema(doc, 'openapi');
});
afterAll(async () => {
  await server?.stop();
});

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Checks a real response against the document; returns the parsed body (if JSON). */
async function conforms(template: string, method: string, response: Response): Promise<unknown> {
  const operation = (
    doc.paths as unknown as Record<string, Record<string, { responses: Record<string, unknown> }>>
  )[template]?.[method];
  expect(operation, `${method.toUpperCase()} ${template} is documented`).toBeDefined();
  const status = String(response.status);
  let documented = operation!.responses[status] as {
    $ref?: string;
    content?: Record<string, unknown>;
  };
  expect(documented, `${method.toUpperCase()} ${template} documents ${status}`).toBeDefined();
  let base = pointer('paths', template, method, 'responses', status);
  if (documented.$ref) {
    base = documented.$ref.slice(2);
    documented = (doc.components.responses as Record<string, typeof documented>)[
      base.split('/').pop()!
    ]!;
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!;
  if (!documented.content) return undefined;
  expect(Object.keys(documented.content), `${template} ${status} content type`).toContain(type);
  if (!type.endsWith('json')) return undefined;
  const body = await response.json();
  const validate = ajv.getSchema(`openapi#/${base}/content/${pointer(type)}/schema`);
  expect(validate, 'schema found').toBeDefined();
  const valid = validate!(body);
  expect(valid, JSON.stringify(validate!.errors)).toBe(true);
  return body;
}

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and documents every route the server has', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/avatars',
        '/avatars/{avatarId}',
        '/features',
        '/health',
        '/metrics',
        '/openapi.json',
        '/ready',
        '/status',
        '/streams',
        '/streams/{sessionId}/answer/{answerKey}',
        '/streams/{sessionId}/audio',
        '/streams/{sessionId}/say',
        '/whep/avatars/{avatarId}',
        '/whep/sessions/{sessionId}',
        '/whep/sessions/{sessionId}/audio',
        '/whep/sessions/{sessionId}/say',
        '/whep/sessions/{sessionId}/speaking',
      ].sort(),
    );
  });

  it('matches the audio routes: an utterance queued, the state, an interrupt, problems', async () => {
    await conforms('/features', 'get', await fetch(`${server.url}/features`));
    const client = new WhepTestClient({ audio: true });
    try {
      expect((await client.connect(`${server.url}/whep/avatars/default`)).status).toBe(201);
      await client.waitForFrames(3);
      const audio = `${client.location}/audio`;
      const wav = toneWav([{ ms: 2000, freq: 440 }]);
      const post = (type: string, body: Buffer | string) =>
        fetch(audio, { method: 'POST', headers: { 'Content-Type': type }, body });
      await conforms('/whep/sessions/{sessionId}/audio', 'post', await post('audio/wav', wav));
      await conforms('/whep/sessions/{sessionId}', 'get', await fetch(client.location));
      await conforms(
        '/whep/sessions/{sessionId}/audio',
        'delete',
        await fetch(audio, { method: 'DELETE' }),
      );
      await conforms('/whep/sessions/{sessionId}/audio', 'post', await post('text/plain', 'hi'));
      await conforms(
        '/whep/sessions/{sessionId}/audio',
        'post',
        await post('audio/wav', 'not a wav'),
      );
      await conforms(
        '/whep/sessions/{sessionId}/say',
        'post',
        await fetch(`${client.location}/say`, json({ text: 'Hello' })),
      );
    } finally {
      await client.close();
    }
  });

  it('matches health, status, metrics and problems', async () => {
    await conforms('/health', 'get', await fetch(`${server.url}/health`));
    await conforms('/ready', 'get', await fetch(`${server.url}/ready`));
    await conforms('/status', 'get', await fetch(`${server.url}/status`));
    await conforms('/metrics', 'get', await fetch(`${server.url}/metrics`));
    const avatars = (await conforms(
      '/avatars',
      'get',
      await fetch(`${server.url}/avatars`),
    )) as Array<{
      id: string;
      state: string;
      scores?: unknown;
    }>;
    expect(avatars.find((a) => a.id === 'default')).toMatchObject({ state: 'ready', scores: {} });
    await conforms('/avatars/{avatarId}', 'get', await fetch(`${server.url}/avatars/default`));
    await conforms('/avatars/{avatarId}', 'get', await fetch(`${server.url}/avatars/nobody`));
    await conforms(
      '/whep/avatars/{avatarId}',
      'post',
      await fetch(`${server.url}/whep/avatars/nobody`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: 'v=0',
      }),
    );
    await conforms(
      '/whep/avatars/{avatarId}',
      'post',
      await fetch(`${server.url}/whep/avatars/default`, { method: 'POST', body: 'x' }),
    );
    await conforms(
      '/streams',
      'post',
      await fetch(`${server.url}/streams`, json({ video_id: 'maria' })),
    );
    await conforms(
      '/streams',
      'post',
      await fetch(
        `${server.url}/streams`,
        json({ idle_video: '/etc/hostname', gesture_video: '/etc/hostname' }),
      ),
    );
    await conforms(
      '/streams',
      'post',
      await fetch(`${server.url}/streams`, json({ use_ai: true })),
    );
    await conforms(
      '/whep/sessions/{sessionId}',
      'get',
      await fetch(`${server.url}/whep/sessions/nope`),
    );
  });

  it('matches a WHEP session: answer, state, speaking, delete', async () => {
    const client = new WhepTestClient();
    const created = await client.connect(`${server.url}/whep/avatars/default`);
    try {
      await conforms('/whep/avatars/{avatarId}', 'post', created);
      await client.waitForFrames(3);
      await conforms('/whep/sessions/{sessionId}', 'get', await fetch(client.location));
      const speaking = await fetch(`${client.location}/speaking`, json({ speaking: true }));
      await conforms('/whep/sessions/{sessionId}/speaking', 'post', speaking);
      await conforms(
        '/whep/sessions/{sessionId}/speaking',
        'get',
        await fetch(`${client.location}/speaking`),
      );
      await conforms(
        '/whep/sessions/{sessionId}/speaking',
        'post',
        await fetch(`${client.location}/speaking`, json({ speaking: 'yes' })),
      );
      await conforms(
        '/whep/sessions/{sessionId}',
        'delete',
        await fetch(client.location, { method: 'DELETE' }),
      );
    } finally {
      await client.close();
    }
  });

  it('matches a /streams session: creation and answer', async () => {
    const response = await fetch(`${server.url}/streams`, json({ video_id: 'jesus_default' }));
    const created = (await conforms('/streams', 'post', response)) as StreamCreated;
    const client = new StreamsTestClient();
    const sdp = await client.answer(created.offer.sdp);
    try {
      await conforms(
        '/streams/{sessionId}/answer/{answerKey}',
        'post',
        await fetch(created.urls.answer, json({ type: 'answer', sdp })),
      );
      await conforms(
        '/streams/{sessionId}/answer/{answerKey}',
        'post',
        await fetch(created.urls.answer, json({ type: 'answer', sdp })),
      );
    } finally {
      await fetch(created.urls.session, { method: 'DELETE' });
      await client.close();
    }
  });
});
