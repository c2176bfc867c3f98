import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNodes } from '../src/cluster/ClusterNodes.js';
import { startTestServer, type TestServer } from './support/testServer.js';

/**
 * Discovery through DNS (a Kubernetes headless Service): the addresses come from the name, and
 * each proves its node id at `/cluster/identity` with the cluster secret. Here the resolver
 * answers with loopback, where a real server runs as node-b.
 */
const SECRET = 'discovery-secret-0123456789abcdefghij';
const logger = pino({ level: 'silent' });
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ cluster: { nodeId: 'node-b', secret: SECRET, nodes: [] } });
});
afterAll(async () => {
  await server?.stop();
});

const discover = (secret: string, addresses = ['127.0.0.1']) =>
  new ClusterNodes({
    self: 'node-a',
    secret,
    nodes: [],
    dns: 'avatar-nodes.test',
    port: server.port,
    logger,
    resolve: async () => addresses,
  });

describe('cluster discovery through DNS', () => {
  it('learns which address is which node from a signed identity query', async () => {
    const cluster = discover(SECRET);
    await cluster.start();
    cluster.stop();
    expect(cluster.url('node-b')).toBe(`http://127.0.0.1:${server.port}`);
    expect(cluster.list()).toEqual([
      { id: 'node-b', url: `http://127.0.0.1:${server.port}`, source: 'dns' },
    ]);
    expect(cluster.url('node-c')).toBeUndefined();
    expect(cluster.identityQueries).toBe(1);
  });

  it('an address that cannot prove it holds the secret is no node', async () => {
    const cluster = discover('another-secret-0123456789abcdefghijk');
    await cluster.start();
    cluster.stop();
    expect(cluster.list()).toEqual([]);
    expect(cluster.url('node-b')).toBeUndefined();
    // Unsigned, the identity endpoint does not exist.
    expect((await fetch(`${server.url}/cluster/identity`)).status).toBe(404);
  });

  it('a node gone from DNS is forgotten at the next pass', async () => {
    const addresses = ['127.0.0.1'];
    const cluster = discover(SECRET, addresses);
    await cluster.start();
    expect(cluster.url('node-b')).toBeDefined();
    addresses.pop();
    await cluster.refresh();
    cluster.stop();
    expect(cluster.url('node-b')).toBeUndefined();
  });
});
