/** The egress DNS proxy: TCP relays to addresses and to names that keep being resolved. */
export {
  type DestinationFileRead,
  type DnsProxyConfig,
  type DnsProxyEnv,
  type DnsProxySettings,
  parseDestinationText,
  parseDnsProxyConfig,
  parseDnsProxySettings,
} from './config.js';
export { type DnsProxyError, type DnsProxyErrorCode, formatErrors, type Result } from './errors.js';
export { formatCheck, formatEntry } from './format-entries.js';
export { DnsProxyMetrics } from './metrics.js';
export { type DnsProxyEntry, parseDestinations, type Target } from './parse-destinations.js';
export { type ApplyResult, DnsProxy, type DrainResult } from './proxy.js';
export type { ConnectionRecord, ConnectionResult } from './relay.js';
export { type DnsProxyService, DnsProxyStartError, startDnsProxyService } from './service.js';
