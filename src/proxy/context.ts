import type { InfoLine, Logger } from '../runtime/logger.js';
import type { CheckTarget } from './check-target.js';
import type { RequestCounts } from './metrics.js';
import type { ProxySettings } from './settings.js';
import type { UpstreamPool } from './upstream-pool.js';

/**
 * What every client connection of one proxy shares: made once by createEgressProxy (server.ts),
 * read by the connection (client-connection.ts), the forwarded request (forward.ts) and the tunnel
 * (tunnel.ts).
 */
export interface ProxyContext {
  readonly settings: ProxySettings;
  readonly log: Logger;
  /** One info line per request or tunnel (fastInfo). */
  readonly line: InfoLine;
  readonly counts: RequestCounts;
  /** Kept-alive destination connections, per checked address. */
  readonly pool: UpstreamPool;
  readonly checkTarget: CheckTarget;
  /** The proxy is draining: every connection closes after its current request. */
  readonly draining: boolean;
}
