import { hostname } from 'node:os';

/** A node id: a DNS label (lowercase letters, digits and `-`), so it is safe in URLs and logs. */
export const NODE_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * This node's id when `cluster.nodeId` is unset: the host name made to fit NODE_ID (a pod's
 * name in Kubernetes, unique within the cluster; dots and other characters become `-`).
 */
export function defaultNodeId(host = hostname()): string {
  const label = host
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return label === '' ? 'node' : label;
}

/** The node id in effect: the setting, or the one derived from the host name. */
export const nodeIdOf = (cluster: { nodeId?: string | undefined }) =>
  cluster.nodeId ?? defaultNodeId();
