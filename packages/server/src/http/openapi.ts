/**
 * The OpenAPI 3.1 description of the whole HTTP API, served at `GET /openapi.json`. Its schemas
 * are JSON Schema 2020-12; test/openapi.int.test.ts checks real responses against them, so a
 * route that drifts from this document fails the tests.
 */

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const sessionIdParam = {
  name: 'sessionId',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description:
    'Session id: 128 random bits, given only to the session’s creator (with tokens, the creating token or the session_token is needed too)',
};

/** What every request to a session's URLs may also get: not its owner, rate-limited. */
const sessionProblems = {
  '401': { $ref: '#/components/responses/Problem' },
  '429': { $ref: '#/components/responses/Problem' },
};

export function openApiDocument(version: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Avatar Server',
      version,
      description:
        'Real-video avatars over WebRTC: WHEP endpoints, the original system’s /streams API, speaking control, health, status and metrics. Errors are application/problem+json (RFC 9457).',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Only when the server is configured with tokens: creating a session needs one, and a session’s URLs need the token that created it (or its session_token)',
        },
        operator: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An operatorTokens entry; without one, only requests from the server’s own machine (operatorAccess: local)',
        },
      },
      responses: {
        Problem: {
          description: 'An error, with a detail saying what to fix',
          content: { 'application/problem+json': { schema: ref('Problem') } },
        },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string', pattern: '^urn:avatar-server:problem:' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            progress: {
              type: 'number',
              minimum: 0,
              maximum: 1,
              description: 'Avatar still compiling (503): the share of its compile done',
            },
            etaSeconds: {
              type: 'integer',
              minimum: 0,
              description: 'Avatar still compiling (503): seconds left, once they can be told',
            },
          },
        },
        Ready: {
          type: 'object',
          required: ['status', 'avatar'],
          properties: {
            status: { const: 'ready' },
            avatar: { type: 'string', description: 'The default avatar, which accepts sessions' },
          },
        },
        Health: {
          type: 'object',
          required: ['status', 'version', 'uptimeSeconds', 'sessions'],
          properties: {
            status: { const: 'ok' },
            version: { type: 'string' },
            uptimeSeconds: { type: 'integer', minimum: 0 },
            sessions: { type: 'integer', minimum: 0 },
          },
        },
        AvatarStatus: {
          type: 'object',
          required: ['id', 'state'],
          properties: {
            id: { type: 'string' },
            state: { enum: ['compiling', 'ready', 'failed'] },
            frames: {
              type: 'object',
              properties: { idle: { type: 'integer' }, speaking: { type: 'integer' } },
            },
            sizeMb: { type: 'number' },
            compileMs: { type: 'number' },
            fromCache: { type: 'boolean' },
            error: { type: 'string' },
          },
        },
        Avatar: {
          type: 'object',
          required: ['id', 'state'],
          properties: {
            id: { type: 'string' },
            state: { enum: ['compiling', 'ready', 'failed'] },
            error: { type: 'string', description: 'Why it failed, naming the file and the fix' },
            progress: {
              type: 'number',
              minimum: 0,
              maximum: 1,
              description:
                'While compiling: the share of the compile done (frames decoded and encoded, steps finished)',
            },
            etaSeconds: {
              type: 'integer',
              minimum: 0,
              description: 'While compiling: seconds left at the rate so far, once known',
            },
            size: { type: 'integer', description: 'Square size in pixels' },
            fps: { type: 'integer' },
            frames: {
              type: 'object',
              properties: { idle: { type: 'integer' }, speaking: { type: 'integer' } },
            },
            sizeMb: { type: 'number', description: 'Compiled H.264 held in memory' },
            scores: {
              type: 'object',
              description: 'Ratios to the median step between frames (docs/loops.md)',
              properties: {
                seamRatio: { $ref: '#/components/schemas/LoopPair' },
                cutRatio: { $ref: '#/components/schemas/CutPair' },
                naiveCutRatio: { $ref: '#/components/schemas/CutPair' },
              },
            },
            loops: {
              type: 'object',
              description: 'The span of each clip that is looped',
              additionalProperties: {
                type: 'object',
                properties: { start: { type: 'integer' }, end: { type: 'integer' } },
              },
            },
            warnings: { type: 'array', items: { type: 'string' } },
          },
        },
        LoopPair: {
          type: 'object',
          properties: { idle: { type: 'number' }, speaking: { type: 'number' } },
        },
        CutPair: {
          type: 'object',
          properties: { idleToSpeaking: { type: 'number' }, speakingToIdle: { type: 'number' } },
        },
        Status: {
          type: 'object',
          required: [
            'status',
            'version',
            'uptimeSeconds',
            'avatars',
            'encoder',
            'sessions',
            'frames',
            'bitrateKbps',
            'memory',
          ],
          properties: {
            status: { const: 'ok' },
            version: { type: 'string' },
            uptimeSeconds: { type: 'integer' },
            avatars: { type: 'array', items: ref('AvatarStatus') },
            encoder: {
              type: 'object',
              required: ['kind', 'nvencAvailable', 'reason'],
              properties: {
                kind: { enum: ['nvenc', 'x264'] },
                nvencAvailable: { type: 'boolean' },
                reason: { type: 'string' },
                ffmpeg: { type: 'string' },
                ffmpegSource: { type: 'string' },
              },
            },
            sessions: {
              type: 'object',
              required: ['active', 'max', 'created', 'list'],
              properties: {
                active: { type: 'integer' },
                max: { type: 'integer' },
                created: { type: 'integer' },
                list: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['id', 'avatar', 'speaking', 'framesSent'],
                    properties: {
                      id: { type: 'string' },
                      avatar: { type: 'string' },
                      speaking: { type: 'boolean' },
                      ageSeconds: { type: 'integer' },
                      framesSent: { type: 'integer' },
                    },
                  },
                },
              },
            },
            frames: {
              type: 'object',
              required: ['sent', 'late'],
              properties: {
                sent: { type: 'integer' },
                late: { type: 'integer' },
                lateTicks: { type: 'integer' },
                ticks: { type: 'integer' },
              },
            },
            workers: {
              type: 'array',
              description:
                'Each media worker (a thread with its own sessions, frame clock and event loop)',
              items: {
                type: 'object',
                required: ['index', 'sessions', 'restarts', 'lateFrames'],
                properties: {
                  index: { type: 'integer' },
                  sessions: { type: 'integer' },
                  restarts: { type: 'integer' },
                  framesSent: { type: 'integer' },
                  lateFrames: { type: 'integer' },
                  skippedTicks: { type: 'integer' },
                  loopDelayMs: {
                    type: 'object',
                    properties: {
                      mean: { type: 'number' },
                      p50: { type: 'number' },
                      p99: { type: 'number' },
                      max: { type: 'number' },
                    },
                  },
                  gc: {
                    type: 'object',
                    properties: {
                      count: { type: 'integer' },
                      totalMs: { type: 'number' },
                      maxMs: { type: 'number' },
                      over10ms: { type: 'integer' },
                    },
                  },
                  heapUsedMb: { type: 'number' },
                },
              },
            },
            switches: { type: 'integer' },
            bytesSent: { type: 'integer' },
            bitrateKbps: { type: 'number' },
            memory: {
              type: 'object',
              required: ['rssMb', 'heapUsedMb'],
              properties: {
                rssMb: { type: 'number' },
                heapUsedMb: { type: 'number' },
                externalMb: { type: 'number' },
                compiledAvatarsMb: { type: 'number' },
              },
            },
          },
        },
        SpeakingChange: {
          type: 'object',
          required: ['speaking', 'loop', 'frame', 'tick', 'sentAt', 'latencyMs'],
          properties: {
            speaking: { type: 'boolean' },
            loop: { enum: ['idle', 'speaking'] },
            frame: { type: 'integer', description: 'First frame sent of the new loop' },
            tick: {
              type: 'integer',
              description: 'Clock tick that carried it (-1: not streaming yet)',
            },
            sentAt: { type: 'number', description: 'ms since the epoch' },
            latencyMs: { type: 'number' },
            audio: {
              const: true,
              description:
                'The session’s audio drives the face now: the request changed nothing (it applies once the audio has played)',
            },
          },
        },
        VoiceState: {
          type: ['object', 'null'],
          description: 'The session’s voice (docs/audio.md); null without an audio track',
          required: ['speaking', 'queue', 'current', 'utterances', 'audioSeconds'],
          properties: {
            speaking: { type: 'boolean', description: 'The face as the audio drives it' },
            queue: { type: 'integer', description: 'Utterances queued or playing' },
            current: {
              type: ['object', 'null'],
              required: ['id', 'playedMs', 'receivedMs', 'streaming'],
              properties: {
                id: { type: 'string' },
                playedMs: { type: 'integer' },
                receivedMs: { type: 'integer' },
                streaming: { type: 'boolean' },
              },
            },
            utterances: { type: 'integer' },
            audioSeconds: { type: 'number' },
          },
        },
        UtteranceQueued: {
          type: 'object',
          required: ['id', 'durationMs', 'queued'],
          properties: {
            id: { type: 'string', description: 'The utterance id the speech events carry' },
            durationMs: { type: 'integer' },
            queued: { type: 'integer', description: 'Its place in the queue (0: it plays now)' },
          },
        },
        SessionState: {
          type: 'object',
          required: ['id', 'avatar', 'speaking', 'cursor', 'stats'],
          properties: {
            id: { type: 'string' },
            avatar: { type: 'string' },
            speaking: { type: 'boolean' },
            audio: ref('VoiceState'),
            cursor: {
              type: 'object',
              description:
                'Where the session is in the compiled avatar: the picture it sends on its next tick',
              required: ['loop', 'chain', 'frame'],
              additionalProperties: false,
              properties: {
                loop: { enum: ['idle', 'speaking'] },
                chain: {
                  type: 'integer',
                  minimum: -1,
                  description:
                    '-1: the main chain (a keyframe every keyframeInterval frames); j: the switch-in chain that starts with a keyframe at frame j and rejoins the main chain at its next keyframe',
                },
                frame: {
                  type: 'integer',
                  minimum: 0,
                  description: 'Frame index in the loop, from 0',
                },
              },
            },
            stats: {
              type: 'object',
              required: ['framesSent', 'bytesSent', 'switches'],
              properties: {
                framesSent: { type: 'integer' },
                packetsSent: { type: 'integer' },
                bytesSent: { type: 'integer' },
                keyframesSent: { type: 'integer' },
                keyframeRequests: { type: 'integer' },
                switches: { type: 'integer' },
              },
            },
          },
        },
        StreamRequest: {
          type: 'object',
          description:
            'The original system’s bodies: a video_id (or portrait_id), or a pair of clip paths inside the videos folder. An empty body is the default avatar. Clip paths need the setting clipRequests (otherwise 403), must be a pair the videos folder holds, and are refused for a token limited to avatars.',
          properties: {
            video_id: { type: 'string', examples: ['jesus_default'] },
            portrait_id: { type: 'string' },
            gesture_video: {
              type: 'string',
              examples: ['/opt/avatar-server/videos/jesus_gestos.mp4'],
            },
            idle_video: {
              type: 'string',
              examples: ['/opt/avatar-server/videos/jesus_reposo.mp4'],
            },
            use_ai: {
              type: 'boolean',
              description: 'Needs frameProcessor in the configuration; otherwise 422',
            },
            audio: {
              type: 'boolean',
              description:
                'Our offer carries a sendonly Opus track too (in the video’s MediaStream): the session can then play audio (urls.audio)',
            },
          },
        },
        StreamCreated: {
          type: 'object',
          required: ['id', 'session_id', 'avatar', 'offer', 'ice_servers', 'urls'],
          properties: {
            id: { type: 'string' },
            session_id: { type: 'string' },
            avatar: { type: 'string' },
            offer: {
              type: 'object',
              required: ['type', 'sdp'],
              properties: { type: { const: 'offer' }, sdp: { type: 'string' } },
            },
            ice_servers: { type: 'array', items: { type: 'object' } },
            session_token: {
              type: 'string',
              description:
                'With tokens only: a Bearer token for this session’s URLs alone, for the client that answers',
            },
            urls: {
              type: 'object',
              required: ['answer', 'speaking', 'session'],
              properties: {
                answer: {
                  type: 'string',
                  format: 'uri',
                  description: 'Where to post the answer; it carries a secret answer key',
                },
                speaking: { type: 'string', format: 'uri' },
                session: { type: 'string', format: 'uri' },
                audio: {
                  type: 'string',
                  format: 'uri',
                  description: 'With "audio": true: where to send audio',
                },
              },
            },
          },
        },
        StreamAnswered: {
          type: 'object',
          required: ['id', 'session_id', 'state'],
          properties: {
            id: { type: 'string' },
            session_id: { type: 'string' },
            state: { const: 'answered' },
          },
        },
      },
    },
    paths: {
      '/features': {
        get: {
          summary: 'What a page may offer: audio in sessions, and text to speech (tts.command set)',
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['audio', 'tts'],
                properties: { audio: { type: 'boolean' }, tts: { type: 'boolean' } },
              },
              'Features',
            ),
          },
        },
      },
      ...Object.fromEntries(
        ['/whep/sessions/{sessionId}', '/streams/{sessionId}'].flatMap((base) => [
          [
            `${base}/audio`,
            {
              parameters: [sessionIdParam],
              post: {
                summary:
                  'Queue an utterance: a whole file in any format ffmpeg reads, or audio/L16 PCM streamed in a chunked body (played as it arrives)',
                description:
                  'The session needs an audio track (an offer receiving Opus, or /streams with "audio": true), else 409. audio/L16;rate=16000|24000|48000;channels=1 (RFC 2586, big-endian; endianness=little-endian accepted). 413 beyond audio.maxUploadMb or audio.maxUtteranceSeconds; 415 for a body that is not audio or an unsupported PCM rate; 422 for bytes ffmpeg cannot read as audio; 408 when a stream sends nothing for audio.stallMs (the utterance ends there); 429 when the session’s queue is full; 503 when the server decodes audio.maxConcurrentDecodes files already. See docs/audio.md.',
                security: [{}, { bearer: [] }],
                requestBody: {
                  required: true,
                  content: {
                    'audio/*': { schema: { type: 'string', format: 'binary' } },
                    'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
                  },
                },
                responses: {
                  '202': json(ref('UtteranceQueued'), 'Queued; it plays in order'),
                  '404': problem,
                  '408': problem,
                  '409': problem,
                  '413': problem,
                  '415': problem,
                  '422': problem,
                  '503': problem,
                  ...sessionProblems,
                },
              },
              delete: {
                summary:
                  'Interrupt: the voice stops before its next 20 ms frame, the queue is dropped, the face returns to idle',
                security: [{}, { bearer: [] }],
                responses: {
                  '200': json(
                    {
                      type: 'object',
                      required: ['interrupted', 'dropped'],
                      properties: {
                        interrupted: { type: ['string', 'null'] },
                        dropped: { type: 'integer' },
                      },
                    },
                    'Interrupted',
                  ),
                  '404': problem,
                  '409': problem,
                  ...sessionProblems,
                },
              },
            },
          ],
          [
            `${base}/say`,
            {
              parameters: [sessionIdParam],
              post: {
                summary:
                  'Say a text with the configured text-to-speech command (tts.command), queued like an utterance',
                security: [{}, { bearer: [] }],
                requestBody: {
                  required: true,
                  content: {
                    'application/json': {
                      schema: {
                        type: 'object',
                        required: ['text'],
                        properties: { text: { type: 'string' } },
                      },
                    },
                  },
                },
                responses: {
                  '202': json(ref('UtteranceQueued'), 'Queued; it plays in order'),
                  '400': problem,
                  '404': problem,
                  '409': problem,
                  '413': problem,
                  '501': problem,
                  '503': problem,
                  ...sessionProblems,
                },
              },
            },
          ],
        ]),
      ),
      '/health': {
        get: {
          summary: 'Liveness: the process answers (restart it when this fails)',
          responses: { '200': json(ref('Health'), 'The server is up') },
        },
      },
      '/ready': {
        get: {
          summary:
            'Readiness: the server accepts sessions for its default avatar (send it viewers when 200)',
          description:
            '503 (problem+json with Retry-After) while the default avatar compiles (with `progress` and `etaSeconds`), when it failed or is missing, and from the start of a graceful shutdown (`server_draining`, during `drainMs`).',
          responses: { '200': json(ref('Ready'), 'Ready'), '503': problem },
        },
      },
      '/status': {
        get: {
          summary: 'For operators: avatars, encoder, sessions, frames, bitrate and memory',
          security: [{ operator: [] }],
          responses: {
            '200': json(ref('Status'), 'Current status'),
            '401': problem,
            '403': problem,
          },
        },
      },
      '/avatars': {
        get: {
          summary:
            'Every avatar: id and state; for operators also why it failed, size, fps, frames, scores',
          responses: { '200': json({ type: 'array', items: ref('Avatar') }, 'The avatars') },
        },
      },
      '/avatars/{avatarId}': {
        parameters: [{ name: 'avatarId', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary: 'One avatar',
          responses: { '200': json(ref('Avatar'), 'The avatar'), '404': problem },
        },
      },
      '/metrics': {
        get: {
          summary: 'For operators: Prometheus metrics',
          security: [{ operator: [] }],
          responses: {
            '401': problem,
            '403': problem,
            '200': {
              description: 'Prometheus text exposition format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document') },
        },
      },
      '/whep/avatars/{avatarId}': {
        parameters: [
          {
            name: 'avatarId',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            description: 'An avatar id; `default` and `<name>_default` are the default avatar',
          },
        ],
        post: {
          summary: 'WHEP: start a session with an SDP offer',
          security: [{}, { bearer: [] }],
          requestBody: {
            required: true,
            content: { 'application/sdp': { schema: { type: 'string' } } },
          },
          responses: {
            '201': {
              description: 'The SDP answer; Location is the session URL',
              headers: {
                Location: { schema: { type: 'string', format: 'uri' } },
                ETag: { schema: { type: 'string' } },
              },
              content: { 'application/sdp': { schema: { type: 'string' } } },
            },
            '400': problem,
            '401': problem,
            '403': problem,
            '404': problem,
            '415': problem,
            '422': problem,
            '429': problem,
            '503': problem,
          },
        },
        get: {
          summary: 'Whether the avatar can be played (no body)',
          responses: { '200': { description: 'Ready' }, '404': problem, '503': problem },
        },
        options: { summary: 'CORS and Accept-Post', responses: { '204': { description: 'OK' } } },
      },
      '/whep/sessions/{sessionId}': {
        parameters: [sessionIdParam],
        get: {
          summary: 'The session’s state and counters',
          security: [{}, { bearer: [] }],
          responses: {
            '200': json(ref('SessionState'), 'The session'),
            '404': problem,
            ...sessionProblems,
          },
        },
        delete: {
          summary: 'End the session',
          security: [{}, { bearer: [] }],
          responses: { '200': { description: 'Ended' }, '404': problem, ...sessionProblems },
        },
        patch: {
          summary: 'WHEP trickle ICE (RFC 8840 fragment); at most 50 candidates per session',
          security: [{}, { bearer: [] }],
          requestBody: {
            required: true,
            content: { 'application/trickle-ice-sdpfrag': { schema: { type: 'string' } } },
          },
          responses: {
            '204': { description: 'Candidates added' },
            '404': problem,
            '412': problem,
            '415': problem,
            '422': problem,
            '428': problem,
            ...sessionProblems,
          },
        },
      },
      '/whep/sessions/{sessionId}/speaking': {
        parameters: [sessionIdParam],
        post: {
          summary: 'Switch speaking on or off; answers when the change took effect',
          security: [{}, { bearer: [] }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['speaking'],
                  properties: { speaking: { type: 'boolean' } },
                },
              },
            },
          },
          responses: {
            '200': json(ref('SpeakingChange'), 'Where and when the change took effect'),
            '400': problem,
            '404': problem,
            ...sessionProblems,
          },
        },
        get: {
          summary: 'The speaking state',
          responses: {
            '200': json(
              {
                type: 'object',
                required: ['speaking'],
                properties: { speaking: { type: 'boolean' } },
              },
              'Speaking state',
            ),
            '404': problem,
            ...sessionProblems,
          },
        },
      },
      '/streams': {
        post: {
          summary: 'The original API: start a session; the server makes the SDP offer',
          security: [{}, { bearer: [] }],
          requestBody: {
            content: { 'application/json': { schema: ref('StreamRequest') } },
          },
          responses: {
            '201': json(ref('StreamCreated'), 'The session, our offer and the URLs to use next'),
            '400': problem,
            '401': problem,
            '403': problem,
            '404': problem,
            '422': problem,
            '429': problem,
            '503': problem,
          },
        },
      },
      '/streams/{sessionId}/answer/{answerKey}': {
        parameters: [
          sessionIdParam,
          {
            name: 'answerKey',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            description: 'The secret of urls.answer: only the 201 of POST /streams carried it',
          },
        ],
        post: {
          summary: 'The client’s SDP answer to the offer of POST /streams (post to urls.answer)',
          security: [{}, { bearer: [] }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['sdp'],
                  properties: { type: { const: 'answer' }, sdp: { type: 'string' } },
                },
              },
              'application/sdp': { schema: { type: 'string' } },
            },
          },
          responses: {
            '200': json(
              ref('StreamAnswered'),
              'Answer applied; media starts once ICE/DTLS complete',
            ),
            '400': problem,
            '404': problem,
            '409': problem,
            '422': problem,
            ...sessionProblems,
          },
        },
      },
    },
  };
}
