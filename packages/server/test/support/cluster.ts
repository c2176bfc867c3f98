import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@avatar-server/testkit';

/** The `avatar-server` command as a user runs it (from source, through tsx). */
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Debian installs HAProxy in /usr/sbin, which a user's PATH may lack. */
const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

/**
 * `count` different free TCP ports on loopback (the kernel's choice, all held until each is
 * known so none is handed out twice, then released for the children to take).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports: number[] = [];
  for (const server of servers) {
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    ports.push((server.address() as AddressInfo).port);
  }
  await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  return ports;
}

export type NodeProcess = {
  id: string;
  port: number;
  url: string;
  child: ChildProcess;
  /** JSON log lines so far. */
  lines(): Array<Record<string, unknown>>;
  /** Everything it wrote (JSON lines and any plain line, such as a start error). */
  output(): string;
  exited: Promise<number | null>;
  /** When the process exited (performance.now()), once it has. */
  exitedAt: number | undefined;
};

/** One server process of the cluster, configured only through AVATAR_* variables. */
export function startNode(id: string, port: number, env: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve'], {
    env: {
      ...process.env,
      CI: '1',
      AVATAR_PORT: String(port),
      AVATAR_HOST: '127.0.0.1',
      AVATAR_CLUSTER_NODE_ID: id,
      AVATAR_LOG_FORMAT: 'json',
      ...env,
    },
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const node: NodeProcess = {
    id,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    output: () => out,
    exited: new Promise((ok) =>
      child.on('exit', (code) => {
        node.exitedAt = performance.now();
        ok(code);
      }),
    ),
    exitedAt: undefined,
  };
  return node;
}

export type HaproxyProcess = {
  url: string;
  statsUrl: string;
  child: ChildProcess;
  /** Each server's state as HAProxy sees it: UP, DOWN, … */
  states(): Promise<Record<string, string>>;
  stop(): Promise<void>;
};

/**
 * HAProxy (Debian's package) in front of the nodes: round-robin, no stickiness, a health check
 * on `/ready` every 250 ms (one failure takes a node out). A connection refused is retried on
 * another node (`option redispatch`).
 */
export async function startHaproxy(
  dir: string,
  nodes: ReadonlyArray<{ id: string; port: number }>,
): Promise<HaproxyProcess> {
  const [port, statsPort] = await freePorts(2);
  const config = [
    'global',
    '  maxconn 500',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  retries 2',
    '  option redispatch 1',
    'frontend viewers',
    `  bind 127.0.0.1:${port}`,
    '  default_backend nodes',
    'backend nodes',
    '  balance roundrobin',
    '  option httpchk GET /ready',
    '  http-check expect status 200',
    '  default-server inter 250ms fastinter 250ms downinter 250ms fall 1 rise 1',
    ...nodes.map((n) => `  server ${n.id} 127.0.0.1:${n.port} check`),
    'listen stats',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let failed = false;
  child.on('error', (err) => {
    failed = true;
    out += `cannot run haproxy (${err.message}): install it (apt-get install haproxy; .ci/run does)`;
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<void>((ok) => child.on('exit', () => ok()));
  const statsUrl = `http://127.0.0.1:${statsPort}/stats;csv`;
  const states = async () => {
    const csv = await (await fetch(statsUrl)).text();
    const [header, ...rows] = csv.trim().split('\n');
    const columns = header!.replace(/^# /, '').split(',');
    const name = columns.indexOf('svname');
    const status = columns.indexOf('status');
    const proxy = columns.indexOf('pxname');
    const out: Record<string, string> = {};
    for (const row of rows) {
      const cells = row.split(',');
      if (cells[proxy] === 'nodes' && cells[name] !== 'BACKEND') out[cells[name]!] = cells[status]!;
    }
    return out;
  };
  await waitFor(
    async () => {
      if (failed || child.exitCode !== null) throw new Error(`haproxy did not start: ${out}`);
      return (await states().catch(() => undefined)) !== undefined;
    },
    { timeoutMs: 10_000, what: 'haproxy to start' },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    statsUrl,
    child,
    states,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
