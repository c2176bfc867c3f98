import { resolve4 } from 'node:dns/promises';
import type { Logger } from 'pino';
import { HEADER, identityProofMatches, signRequest } from './signature.js';

export type NodeAddress = { id: string; url: string; source: 'config' | 'dns' };

export type ClusterOptions = {
  /** This node's id (never forwarded to). */
  self: string;
  secret?: string | undefined;
  /** `cluster.nodes`: known by configuration. */
  nodes: ReadonlyArray<{ id: string; url: string }>;
  /** `cluster.dns`: a name whose A records are the nodes (a headless Service). */
  dns?: string | undefined;
  /** The HTTP port of the addresses found through `dns`. */
  port: number;
  logger: Logger;
  /** How often the DNS name is resolved again. */
  refreshMs?: number;
  /** Tests: another resolver. */
  resolve?: (name: string) => Promise<string[]>;
};

/** An address's node id is asked again after this long (a pod's IP may be given to another). */
const IDENTITY_TTL_MS = 30_000;
/** An identity query gets this long (nodes are on one network). */
const IDENTITY_TIMEOUT_MS = 2000;

/**
 * The other nodes of the cluster and the URL each is reached by: the only addresses this node
 * ever sends a forwarded request to (a session id names a node, never an address).
 *
 * From `cluster.nodes`, or from DNS: every `refreshMs` the name is resolved, and each address not
 * asked recently is asked its node id at `GET /cluster/identity`. The query is signed with the
 * cluster secret and the answer carries a proof bound to that query's signature, so an address
 * that is not a node of this cluster cannot claim to be one. A node that asks us and that we do
 * not know yet (it just started) makes us resolve again at once (throttled), so its sessions are
 * reachable from here before its first viewer's next request.
 */
export class ClusterNodes {
  readonly #options: ClusterOptions;
  readonly #static = new Map<string, string>();
  /** From DNS: address → { id, url, asked at }. */
  readonly #found = new Map<string, { id: string | undefined; url: string; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #lastRefresh = 0;
  /** Identity queries sent (the only outbound requests besides forwards). */
  identityQueries = 0;

  constructor(options: ClusterOptions) {
    this.#options = options;
    for (const node of options.nodes) {
      if (node.id !== options.self) this.#static.set(node.id, node.url.replace(/\/+$/, ''));
    }
  }

  get self() {
    return this.#options.self;
  }

  /** The URL of node `id`, or undefined when the cluster does not know it. */
  url(id: string): string | undefined {
    if (id === this.#options.self) return undefined;
    const configured = this.#static.get(id);
    if (configured) return configured;
    for (const found of this.#found.values()) if (found.id === id) return found.url;
    return undefined;
  }

  /** Every other node known now. */
  list(): NodeAddress[] {
    const out: NodeAddress[] = [...this.#static].map(([id, url]) => ({
      id,
      url,
      source: 'config',
    }));
    for (const found of this.#found.values()) {
      if (found.id && found.id !== this.#options.self && !this.#static.has(found.id)) {
        out.push({ id: found.id, url: found.url, source: 'dns' });
      }
    }
    return out;
  }

  /** Starts DNS discovery (nothing to do without `dns`); resolves after the first pass. */
  async start(): Promise<void> {
    if (!this.#options.dns) return;
    const every = this.#options.refreshMs ?? 5000;
    this.#timer = setInterval(() => void this.refresh(), every);
    this.#timer.unref();
    await this.refresh();
  }

  stop() {
    clearInterval(this.#timer);
  }

  /** A signed request came from node `id`: resolve again soon if it is new to us. */
  heardFrom(id: string) {
    if (!this.#options.dns || id === this.#options.self || this.url(id)) return;
    if (performance.now() - this.#lastRefresh < 1000) return;
    void this.refresh();
  }

  /** Resolves the DNS name and asks new (or long unasked) addresses who they are. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh() {
    const { dns, port, logger } = this.#options;
    if (!dns) return;
    this.#lastRefresh = performance.now();
    let addresses: string[];
    try {
      addresses = await (this.#options.resolve ?? resolve4)(dns);
    } catch (err) {
      logger.warn({ dns, err: (err as Error).message }, 'cluster: cannot resolve the nodes');
      return;
    }
    for (const address of this.#found.keys()) {
      if (!addresses.includes(address)) this.#found.delete(address);
    }
    const now = performance.now();
    await Promise.all(
      addresses.map(async (address) => {
        const known = this.#found.get(address);
        if (known?.id && now - known.at < IDENTITY_TTL_MS) return;
        const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
        const id = await this.#identify(url);
        const before = known?.id;
        this.#found.set(address, { id, url, at: now });
        if (id && id !== before && id !== this.#options.self) {
          logger.info({ node: id, url }, 'cluster: node found');
        }
      }),
    );
  }

  /** The node id the server at `url` proves it has, or undefined. */
  async #identify(url: string): Promise<string | undefined> {
    const { secret, self } = this.#options;
    if (!secret) return undefined;
    const path = '/cluster/identity';
    const headers = signRequest(secret, self, { purpose: 'identity', method: 'GET', path });
    this.identityQueries++;
    try {
      const response = await fetch(`${url}${path}`, {
        headers,
        signal: AbortSignal.timeout(IDENTITY_TIMEOUT_MS),
      });
      if (!response.ok) return undefined;
      const body = (await response.json()) as { node?: unknown; proof?: unknown };
      if (typeof body.node !== 'string' || typeof body.proof !== 'string') return undefined;
      const signature = headers[HEADER.signature]!;
      return identityProofMatches(secret, body.node, signature, body.proof) ? body.node : undefined;
    } catch {
      return undefined;
    }
  }
}
