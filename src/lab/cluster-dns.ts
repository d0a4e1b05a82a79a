/**
 * DNS from inside lab namespaces: queries with Node's resolver (the dns-query.js script run in the
 * namespace) and resolv.conf files under /etc/netns, which `ip netns exec` bind-mounts over /etc.
 *
 * @module
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execIn } from './lab.js';

/** Where `ip netns exec NS` finds files to bind-mount over /etc (`/etc/netns/NS/resolv.conf`). */
export const ETC_NETNS = '/etc/netns';
/** The compiled DNS client script, next to this module. */
export const DNS_QUERY_SCRIPT = fileURLToPath(new URL('./dns-query.js', import.meta.url));
/** Slack on top of a query's own timeout for starting Node in the namespace. */
const CLIENT_START_SLACK_MS = 5_000;

/** Options of {@link dnsQueryIn}. */
export interface DnsQueryOptions {
  /** `A` (default) or `AAAA`. */
  readonly type?: 'A' | 'AAAA';
  /** The server (`203.0.113.53`, `[2001:db8::53]:5353`); default the namespace's resolv.conf. */
  readonly server?: string;
  /** How long to wait for the answer (default 2 000 ms). */
  readonly timeoutMs?: number;
}

/** What a DNS query from a namespace got: the answers with their TTLs, or the resolver's code. */
export type DnsQueryResult =
  | {
      readonly ok: true;
      readonly answers: readonly { readonly address: string; readonly ttl: number }[];
      /** The servers the resolver used. */
      readonly servers: readonly string[];
    }
  | {
      readonly ok: false;
      /** `ENOTFOUND` (NXDOMAIN), `ENODATA`, `ETIMEOUT`, `ECONNREFUSED`, ... */
      readonly code: string;
      readonly servers: readonly string[];
    };

/**
 * Parses what dns-query.js printed (its last line). Pure.
 *
 * @param text the script's output
 * @returns the result, or undefined when the output is not one
 */
export function parseDnsQueryResult(text: string): DnsQueryResult | undefined {
  const line = text.trim().split('\n').at(-1) ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { ok, answers, code, servers } = value as Record<string, unknown>;
  if (!Array.isArray(servers)) return undefined;
  if (ok === true && Array.isArray(answers)) return value as DnsQueryResult;
  if (ok === false && typeof code === 'string') return value as DnsQueryResult;
  return undefined;
}

/**
 * Asks for one record from inside a namespace, with Node's resolver.
 *
 * @param netns the namespace
 * @param name the name to look up
 * @param options type, server, timeout
 * @returns the answers or the resolver's error code
 * @throws Error when the script cannot run or prints no result
 */
export async function dnsQueryIn(
  netns: string,
  name: string,
  options: DnsQueryOptions = {},
): Promise<DnsQueryResult> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const args = [DNS_QUERY_SCRIPT, name, options.type ?? 'A', String(timeoutMs)];
  if (options.server !== undefined) args.push(options.server);
  const result = await execIn(netns, process.execPath, args, {
    timeoutMs: timeoutMs + CLIENT_START_SLACK_MS,
  });
  const parsed = parseDnsQueryResult(result.stdout);
  if (parsed === undefined)
    throw new Error(`dns-query in ${netns} printed no result: ${result.stderr.trim()}`);
  return parsed;
}

/**
 * resolv.conf for a list of servers. Pure.
 *
 * @param servers the name servers, in order
 * @returns the file's text
 * @example renderResolvConf(['203.0.113.27']) // '# Written by ...\nnameserver 203.0.113.27\n'
 */
export function renderResolvConf(servers: readonly string[]): string {
  return [
    '# Written by the egress-router cluster lab.',
    ...servers.map((server) => `nameserver ${server}`),
    '',
  ].join('\n');
}

/**
 * Writes `/etc/netns/<netns>/resolv.conf`, in place: `ip netns exec` bind-mounts it over
 * /etc/resolv.conf, and a process that started with the file there sees later writes too (a
 * rename would leave it the old file).
 *
 * @param netns the namespace
 * @param servers the name servers
 */
export function writeNetnsResolvConf(netns: string, servers: readonly string[]): void {
  mkdirSync(`${ETC_NETNS}/${netns}`, { recursive: true, mode: 0o755 });
  writeFileSync(`${ETC_NETNS}/${netns}/resolv.conf`, renderResolvConf(servers), { mode: 0o644 });
}

/** The names under /etc/netns (none when it does not exist). */
export function etcNetnsEntries(): string[] {
  try {
    return readdirSync(ETC_NETNS);
  } catch {
    return [];
  }
}

/**
 * Removes `/etc/netns/<name>` for each name; missing ones are skipped. /etc/netns itself stays.
 *
 * @param names namespace names
 */
export function removeEtcNetns(names: Iterable<string>): void {
  for (const name of names) rmSync(`${ETC_NETNS}/${name}`, { recursive: true, force: true });
}
