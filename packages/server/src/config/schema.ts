import { z } from 'zod';

/** Every setting of the server, with its default. Keys are camelCase; `config.yaml` uses the same. */
export const ConfigSchema = z
  .object({
    /** HTTP port (the original system's 8765). */
    port: z.number().int().min(0).max(65535).default(8765),
    /** Interface to listen on. */
    host: z.string().min(1).default('0.0.0.0'),
    /** Folder holding the avatars' clips. */
    videosDir: z.string().min(1).default('videos'),
    /** Folder of compiled avatars (safe to delete; rebuilt on start). */
    cacheDir: z.string().min(1).default('.cache/avatars'),
    /** The avatar that `default` and `<name>_default` resolve to. */
    defaultAvatar: z.string().min(1).default('default'),
    /** Square output size in pixels (the original system's "resolución"). */
    size: z.number().int().min(64).max(2048).multipleOf(16).default(512),
    /** Output frame rate. */
    fps: z.number().int().min(5).max(60).default(25),
    /** Target video bitrate in kbit/s. */
    bitrateKbps: z.number().int().min(100).max(20_000).default(1500),
    /** Frames between main-chain keyframes (G). Smaller: more keyframes, larger loops in memory. */
    keyframeInterval: z.number().int().min(2).max(300).default(25),
    /** H.264 encoder: probe NVENC and fall back to libx264 (`auto`), or force one. */
    encoder: z.enum(['auto', 'nvenc', 'x264']).default('auto'),
    /** libx264 preset used at compile time (compilation is offline: slower is smaller). */
    x264Preset: z
      .enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow'])
      .default('veryfast'),
    /** Path of an ffmpeg binary; otherwise FFMPEG_PATH, ffmpeg-static, then `ffmpeg` on PATH. */
    ffmpegPath: z.string().min(1).optional(),
    /** Absolute base URL used in `Location` headers, e.g. https://avatars.example.com. */
    publicBaseUrl: z.string().url().optional(),
    /** Largest RTP payload in bytes (fits a 1280-byte path MTU with SRTP and extensions). */
    maxRtpPayload: z.number().int().min(200).max(1400).default(1200),
    ice: z
      .object({
        /** UDP port range for ICE, e.g. [40000, 40999]; unset: any free port. */
        portRange: z.tuple([z.number().int(), z.number().int()]).optional(),
        /** Extra host candidate addresses; loopback lets a browser on this machine connect. */
        additionalHostAddresses: z.array(z.string()).default(['127.0.0.1']),
        /** Offer IPv6 host candidates too. */
        useIpv6: z.boolean().default(false),
      })
      .strict()
      .default({ additionalHostAddresses: ['127.0.0.1'], useIpv6: false }),
    /** A viewer that has not completed ICE and DTLS this long after the answer is dropped. */
    handshakeTimeoutMs: z.number().int().min(1000).max(120_000).default(10_000),
    /**
     * A connected viewer whose receiver reports (RTCP, about one a second from browsers) stop
     * this long is gone (tab killed, network lost) and its session ends: without it, werift
     * notices only when ICE consent fails after ~30 s.
     */
    receiverSilenceTimeoutMs: z.number().int().min(2000).max(60_000).default(6000),
    /** Loop only the span of each clip whose wrap-around is least visible (see docs/loops.md). */
    loopTrim: z.boolean().default(true),
    /** The shortest loop the seam search may choose, as a fraction of its clip. */
    loopMinFraction: z.number().min(0.1).max(1).default(0.6),
    /**
     * Frames a speaking change may wait for a less visible cut. 0: the change is the next frame,
     * always; 2: up to 80 ms more at 25 fps when that finds a clearly better cut.
     */
    switchWaitFrames: z.number().int().min(0).max(12).default(0),
    /**
     * Slices each frame tick's sends are spread over (slice j at j/sendSlices of the period);
     * 1: every session's frame at the tick, in one burst. See SessionRegistry.ts.
     */
    sendSlices: z.number().int().min(1).max(64).default(4),
    /**
     * Media worker threads (sessions, peers, UDP sockets, frame clock): `auto` one per core, a
     * number pins it. The HTTP front stays on the main thread. See docs/architecture.md.
     */
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
    /**
     * Young-generation size of each media worker's V8 heap, in MB (0: V8's default, up to 48 MB).
     * Packets make short-lived garbage at a steady rate; a small young generation means shorter,
     * more frequent scavenges instead of pauses long enough to make frames late
     * (docs/benchmarks.md, "Capacity").
     */
    workerYoungGenerationMb: z.number().int().min(0).max(1024).default(6),
    /** Sessions this server accepts at once; beyond, new viewers get 503 with Retry-After. */
    maxSessions: z.number().int().min(1).max(100_000).default(500),
    /**
     * Largest size of the compiled-avatar cache folder in MB; least recently used files go first.
     * 0: no limit. About 60 MB per avatar at 512 px, so 4096 holds some 70 compiled avatars.
     */
    cacheMaxMb: z.number().int().min(0).default(4096),
    /** Public IPv4 of a 1:1 NAT in front of this host (cloud VM), announced as an ICE candidate. */
    publicIp: z.ipv4().optional(),
    /** STUN/TURN servers given to clients (WHEP `Link` headers, `/streams` answers). */
    iceServers: z
      .array(
        z
          .object({
            urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
            username: z.string().optional(),
            credential: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    /** Origins allowed by CORS; `*` allows any. */
    corsOrigins: z.array(z.string().min(1)).min(1).default(['*']),
    /** Bearer tokens that may create sessions; empty: no token needed. Never logged. */
    tokens: z.array(z.string().min(8)).default([]),
    /**
     * Secret (32+ characters) for short-lived signed tokens a backend mints for browsers
     * (`mintToken`, `avatar-server token`; docs/tokens.md). Unset: only `tokens`. Never logged.
     */
    tokenSecret: z.string().min(32).optional(),
    /**
     * Bearer tokens (16+ characters) that give operator rights: `GET /status`, `GET /metrics` and
     * the details of `GET /avatars` (compile errors, scores, warnings). Never logged.
     */
    operatorTokens: z.array(z.string().min(16)).default([]),
    /**
     * Who else is an operator: `local` (a request from this machine to localhost, not relayed by
     * a proxy and not from another site's page), `token` (only `operatorTokens`), or `anyone`
     * (a private network only: /status lists every session).
     */
    operatorAccess: z.enum(['local', 'token', 'anyone']).default('local'),
    /**
     * Addresses of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed
     * (express `trust proxy`): IPs, CIDR ranges, or `loopback`, `linklocal`, `uniquelocal`. The
     * client address they give is what the rate limits count. Empty: trust no proxy.
     */
    trustProxy: z
      .array(
        z.union([
          z.enum(['loopback', 'linklocal', 'uniquelocal']),
          z.ipv4(),
          z.ipv6(),
          z.cidrv4(),
          z.cidrv6(),
        ]),
      )
      .default(['loopback']),
    /**
     * Host names (with the port when it is not 80/443) that the URLs in answers may be built
     * from when `publicBaseUrl` is unset; another `Host` gets 400. Empty: any well-formed host.
     */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /**
     * WHEP PATCH must carry the session's ETag in If-Match (428 without, 412 when stale). Off by
     * default: players often omit it.
     */
    strictEtags: z.boolean().default(false),
    /**
     * Sessions one client IP may create: `burst` at once, then `perMinute` (WHEP and /streams
     * together); beyond, 429 with Retry-After. `perMinute: 0` turns the limit off.
     */
    sessionRateLimit: z
      .object({
        perMinute: z.number().int().min(0).max(100_000).default(60),
        burst: z.number().int().min(1).max(10_000).default(20),
      })
      .strict()
      .default({ perMinute: 60, burst: 20 }),
    /**
     * Requests one client address may make to one session's URLs (GET, PATCH, DELETE, speaking,
     * answer): `burst` at once, then `perMinute`; beyond, 429 with Retry-After. `perMinute: 0`
     * turns the limit off.
     */
    sessionRequestRateLimit: z
      .object({
        perMinute: z.number().int().min(0).max(1_000_000).default(600),
        burst: z.number().int().min(1).max(10_000).default(60),
      })
      .strict()
      .default({ perMinute: 600, burst: 60 }),
    /**
     * Command that processes a loop's raw frames at compile time (`use_ai: true` in `/streams`):
     * raw yuv420p frames on stdin, the same number of frames of the same size on stdout. Run with
     * `sh -c`; AVATAR_FRAME_SIZE, AVATAR_FPS, AVATAR_FRAME_COUNT, AVATAR_LOOP and AVATAR_FFMPEG
     * are set. Unset: `use_ai: true` is refused.
     */
    frameProcessor: z.string().min(1).optional(),
    // --- Clip requests, on-demand compiles and secrets from files (docs/reliability.md, Security)
    /**
     * `POST /streams` with `gesture_video` + `idle_video`: off unless the operator turns it on,
     * and then only for a pair the videos folder holds, with a token not limited to avatars.
     */
    clipRequests: z.boolean().default(false),
    /**
     * Avatars compiled on demand (a clip pair added after the start, `use_ai` variants) held at
     * once; beyond, such a request gets 503 with Retry-After until one is dropped.
     */
    onDemandMaxAvatars: z.number().int().min(1).max(1000).default(4),
    /** An on-demand avatar without sessions this long (or one that failed) is dropped from memory. */
    onDemandIdleSeconds: z.number().int().min(5).max(86_400).default(600),
    /** On-demand compiles queued or running at once; beyond, 503 with Retry-After. */
    compileQueueMax: z.number().int().min(1).max(100).default(2),
    /** File holding `tokenSecret` (kept off the command line, where every local user sees it). */
    tokenSecretFile: z.string().min(1).optional(),
    /** File of `tokens`, one per line (`#` comments and blank lines ignored); added to `tokens`. */
    tokensFile: z.string().min(1).optional(),
    /** File of `operatorTokens`, one per line (as `tokensFile`); added to `operatorTokens`. */
    operatorTokensFile: z.string().min(1).optional(),
    /**
     * After SIGTERM: `GET /ready` answers 503 and new sessions are refused at once, the current
     * sessions keep streaming until they have all ended or this many seconds have passed, then
     * they are ended and the server exits. Kubernetes' terminationGracePeriodSeconds must exceed
     * it. See docs/scaling.md.
     */
    drainTimeoutS: z.number().min(0).max(3600).default(30),
    /** The former name of `drainTimeoutS`, in milliseconds (kept so old configs still work). */
    drainMs: z.number().int().min(0).max(3_600_000).optional(),
    /**
     * Several servers as one cluster behind a load balancer (docs/scaling.md): any node answers
     * any session URL by forwarding it to the node its id names.
     */
    cluster: z
      .object({
        /**
         * This node's name in session ids (`<nodeId>.w<worker>-…`): lowercase letters, digits
         * and `-`, at most 63. Default: the host name, made to fit (a pod's name in Kubernetes).
         */
        nodeId: z
          .string()
          .regex(
            /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
            'use 1–63 lowercase letters, digits and -, starting and ending with a letter or digit',
          )
          .optional(),
        /**
         * Shared by every node (32+ characters): signs the requests nodes forward to each other.
         * Required when the cluster has more than one node. Never logged.
         */
        secret: z.string().min(32).optional(),
        /** File holding `secret` (kept off the command line). */
        secretFile: z.string().min(1).optional(),
        /**
         * The other nodes, each with its id and the URL nodes reach it by (the cluster network):
         * AVATAR_CLUSTER_NODES=a=http://10.0.0.1:8765,b=http://10.0.0.2:8765. This node may be
         * listed too (it is skipped).
         */
        nodes: z
          .array(z.object({ id: z.string().min(1), url: z.url({ protocol: /^https?$/ }) }).strict())
          .default([]),
        /**
         * Discovery: a DNS name (Kubernetes headless Service) whose A records are the nodes. Each
         * address is asked its node id at `/cluster/identity` (signed both ways), every few seconds.
         */
        dns: z.string().min(1).optional(),
        /** The nodes' HTTP port on the addresses found through `dns`; default: `port`. */
        port: z.number().int().min(1).max(65535).optional(),
      })
      .strict()
      .default({ nodes: [] }),
    /**
     * Seconds between scans of the videos folder for new clip pairs (compiled like those found at
     * start; with a shared cache folder, by one node for all). 0: only at start.
     */
    videosRescanS: z.number().min(0).max(3600).default(10),
    /** The session's voice: audio the application sends, played on an Opus track (docs/audio.md). */
    audio: z
      .object({
        /** Silence after voiced audio before the face returns to idle (shorter pauses do not flap). */
        silenceMs: z.number().int().min(40).max(5000).default(250),
        /**
         * How much later than its audio the face follows it, in media time. The receiver plays the
         * video at once (we ask for no playout delay, for fast switches) and does not hold it back
         * for the audio, whose jitter buffer and output device add ~60 ms in Chromium
         * (docs/audio.md, "Lip sync"). 0 for receivers that synchronise audio and video.
         */
        faceDelayMs: z.number().int().min(0).max(500).default(60),
        /** Level (dBFS, RMS of a 20 ms frame) above which audio counts as voiced. */
        voiceThresholdDb: z.number().min(-90).max(0).default(-45),
        /** Largest upload of one utterance, in MB; beyond, 413 (the upload is not buffered). */
        maxUploadMb: z.number().min(0.1).max(1000).default(20),
        /** Longest utterance (whole or streamed), in seconds; beyond, 413. */
        maxUtteranceSeconds: z.number().int().min(1).max(3600).default(300),
        /** A streamed utterance that sends no bytes this long is ended (what arrived plays). */
        stallMs: z.number().int().min(100).max(60_000).default(2000),
        /** Utterances queued or playing per session; beyond, 429. */
        maxQueue: z.number().int().min(1).max(100).default(8),
        /** Files decoded by ffmpeg at once on this server; beyond, 503 with Retry-After. */
        maxConcurrentDecodes: z.number().int().min(1).max(64).default(4),
        /** Longest an ffmpeg decode of one upload may take. */
        decodeTimeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
      })
      .strict()
      .default({
        silenceMs: 250,
        faceDelayMs: 60,
        voiceThresholdDb: -45,
        maxUploadMb: 20,
        maxUtteranceSeconds: 300,
        stallMs: 2000,
        maxQueue: 8,
        maxConcurrentDecodes: 4,
        decodeTimeoutMs: 30_000,
      }),
    /**
     * Text to speech for `POST <session>/say` (optional): a command as an argument list, run
     * without a shell, with `{text}` replaced by the text and `{out}` by the WAV file it must
     * write, e.g. ["espeak-ng", "-w", "{out}", "{text}"]. Unset: `/say` answers 501.
     */
    tts: z
      .object({
        command: z.array(z.string().min(1)).min(1),
        /** Longest text accepted, in characters. */
        maxChars: z.number().int().min(1).max(100_000).default(2000),
        /** Longest the command may run. */
        timeoutMs: z.number().int().min(100).max(120_000).default(20_000),
      })
      .strict()
      .optional(),
    /** Log level for pino; `debug` adds why each session ended, from the media path. */
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    /** Readable lines (`pretty`), JSON lines (`json`), or `auto`: pretty at a terminal, else JSON. */
    logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
