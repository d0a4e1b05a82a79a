import { workerCountText } from '../runtime/cpus.js';
import type { DnsProxyConfig, DnsProxySettings } from './config.js';
import { type DnsProxyEntry, targetText } from './parse-destinations.js';

/**
 * What `dns-proxy --check` prints for a valid configuration: a summary, one line per entry
 * (`<port> -> <destination>:<remote port>`, names marked), and the settings.
 *
 * @param config a validated configuration
 * @param workers how many processes the proxy would run (workerCount)
 * @returns the lines, without line ends
 * @example formatCheck(config) // ['EGRESS_DNS_PROXY_DESTINATION: valid: 1 entry (1 name)', '100 -> example.com:100 (name)', ...]
 */
export function formatCheck(config: DnsProxyConfig, workers: number): string[] {
  const names = config.entries.filter((entry) => entry.target.kind === 'name').length;
  const count = config.entries.length;
  return [
    `${config.origin}: valid: ${count} ${count === 1 ? 'entry' : 'entries'} (${names} ${names === 1 ? 'name' : 'names'})`,
    ...config.entries.map(formatEntry),
    formatSettings(config.settings, workers),
  ];
}

/**
 * One entry as `--check` and the logs show it.
 *
 * @example formatEntry(entry) // '8443 -> [2001:db8::25]:443'
 */
export function formatEntry(entry: DnsProxyEntry): string {
  const host = targetText(entry.target);
  const shown = entry.target.kind === 'address' && entry.target.address.family === 6 ? `[${host}]` : host;
  return `${entry.listenPort} -> ${shown}:${entry.remotePort}${entry.target.kind === 'name' ? ' (name)' : ''}`;
}

/** The settings on one line; the connection limit applies to each of the `workers`. */
export function formatSettings(s: DnsProxySettings, workers: number): string {
  const sec = (ms: number) => `${ms / 1000} s`;
  return [
    `admin port ${s.adminPort}`,
    `connect timeout ${sec(s.connectTimeoutMs)}`,
    `idle timeout ${s.idleTimeoutMs === 0 ? 'none' : sec(s.idleTimeoutMs)}`,
    `drain ${sec(s.drainTimeoutMs)}`,
    `TTL ${s.minTtlMs / 1000}..${sec(s.maxTtlMs)}`,
    `negative hold ${sec(s.negativeHoldMs)}`,
    `max connections ${s.maxConnections} per worker`,
    workerCountText(workers, s.workers),
  ].join(', ');
}
