import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultNodeId } from '../cluster/nodeId.js';
import { ConfigError, loadConfig, parseConfig } from './load.js';

const SECRET = 'cluster-secret-0123456789abcdefghij';

describe('cluster settings', () => {
  it('come from AVATAR_CLUSTER_* like every setting; nodes as id=url', () => {
    const config = loadConfig({
      file: '/nonexistent.yaml',
      env: {
        AVATAR_CLUSTER_NODE_ID: 'node-a',
        AVATAR_CLUSTER_SECRET: SECRET,
        AVATAR_CLUSTER_NODES: 'node-a=http://10.0.0.1:8765,node-b=http://10.0.0.2:8765/api',
        AVATAR_CLUSTER_DNS: 'nodes.avatar.svc.cluster.local',
        AVATAR_CLUSTER_PORT: '9000',
        AVATAR_DRAIN_TIMEOUT_S: '45',
      },
    });
    expect(config.cluster).toEqual({
      nodeId: 'node-a',
      secret: SECRET,
      nodes: [
        { id: 'node-a', url: 'http://10.0.0.1:8765' },
        { id: 'node-b', url: 'http://10.0.0.2:8765/api' },
      ],
      dns: 'nodes.avatar.svc.cluster.local',
      port: 9000,
    });
    expect(config.drainTimeoutS).toBe(45);
  });

  it('the secret from a file (AVATAR_CLUSTER_SECRET_FILE)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cluster-')), 'secret');
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    const config = loadConfig({
      file: '/nonexistent.yaml',
      env: { AVATAR_CLUSTER_SECRET_FILE: file, AVATAR_CLUSTER_DNS: 'nodes' },
    });
    expect(config.cluster.secret).toBe(SECRET);
  });

  it('a cluster of several nodes needs the secret; one node does not', () => {
    expect(() =>
      parseConfig({ cluster: { nodeId: 'a', nodes: [{ id: 'b', url: 'http://10.0.0.2:8765' }] } }),
    ).toThrow(/'cluster.secret': a cluster of several nodes needs a shared secret/);
    expect(() => parseConfig({ cluster: { dns: 'nodes' } })).toThrow(ConfigError);
    // Listing only itself is one node.
    expect(
      parseConfig({ cluster: { nodeId: 'a', nodes: [{ id: 'a', url: 'http://10.0.0.1:8765' }] } })
        .cluster.nodes,
    ).toHaveLength(1);
  });

  it('refuses node ids that are not DNS labels and nodes that are not id=url', () => {
    expect(() => parseConfig({ cluster: { nodeId: 'Node_A' } })).toThrow(/'cluster.nodeId'/);
    expect(() =>
      parseConfig({
        cluster: { secret: SECRET, nodes: [{ id: '10.0.0.1', url: 'http://10.0.0.1:8765' }] },
      }),
    ).toThrow(/'10.0.0.1' is not a node id/);
    expect(() =>
      loadConfig({ file: '/nonexistent.yaml', env: { AVATAR_CLUSTER_NODES: 'http://x:1' } }),
    ).toThrow(/AVATAR_CLUSTER_NODES: 'http:\/\/x:1' is not id=url/);
  });

  it('the default node id is the host name made into a DNS label', () => {
    expect(defaultNodeId('avatar-server-7d9f8c-x2k4q')).toBe('avatar-server-7d9f8c-x2k4q');
    expect(defaultNodeId('Build_Box.example.com')).toBe('build-box-example-com');
    expect(defaultNodeId('---')).toBe('node');
    expect(defaultNodeId('a'.repeat(80))).toHaveLength(63);
  });

  it('drainMs, the former setting, stands for drainTimeoutS', () => {
    expect(parseConfig({}).drainTimeoutS).toBe(30);
    expect(parseConfig({ drainMs: 5000 }).drainTimeoutS).toBe(5);
    expect(parseConfig({ drainMs: 5000, drainTimeoutS: 8 }).drainTimeoutS).toBe(8);
  });
});
