import { isIP } from 'node:net';

/**
 * The lab's DNS records: each name with its addresses (IPv4 for A, IPv6 for AAAA). A name with no
 * address of a family has no record of it (NODATA); a name not listed does not exist (NXDOMAIN).
 */
export type DnsRecords = Readonly<Record<string, readonly string[]>>;

/** What the dnsmasq configuration says. */
export interface DnsmasqConfig {
  /** The addresses to answer on (nothing else: not loopback, not the other addresses). */
  readonly listen: readonly string[];
  readonly port: number;
  /** The hosts file that holds the records (`addn-hosts`, re-read on SIGHUP). */
  readonly hostsPath: string;
  /** The TTL of every answer, in seconds. */
  readonly ttl: number;
}

/** One query dnsmasq logged. */
export interface DnsmasqQuery {
  /** The record type asked for (`A`, `AAAA`, ...). */
  readonly type: string;
  readonly name: string;
  /** The client's address. */
  readonly from: string;
}

/** The largest TTL the lab accepts (a week). */
export const MAX_DNS_TTL = 604_800;

const NAME_PATTERN =
  /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;

/**
 * Checks records: names are host names (letters, digits, `-`, `_`, dots between labels, 253
 * characters at most), addresses are IP addresses.
 *
 * @param records the records
 * @throws TypeError for a bad name or address, naming it
 */
export function checkRecords(records: DnsRecords): void {
  for (const [name, addresses] of Object.entries(records)) {
    if (name.length > 253 || !NAME_PATTERN.test(name)) throw new TypeError(`dnsmasq: bad name '${name}'`);
    if (!Array.isArray(addresses)) throw new TypeError(`dnsmasq: the addresses of '${name}' are not a list`);
    for (const address of addresses) {
      if (typeof address !== 'string' || isIP(address) === 0) {
        throw new TypeError(`dnsmasq: bad address '${String(address)}' for '${name}'`);
      }
    }
  }
}

/**
 * The hosts file (`addn-hosts`) of a set of records: one `address name` line per address. Pure.
 *
 * @param records the records (checked)
 * @returns the file's text
 * @throws TypeError for a bad name or address
 * @example renderHosts({ 'www.foo.com': ['203.0.113.30'] }) // '203.0.113.30 www.foo.com\n'
 */
export function renderHosts(records: DnsRecords): string {
  checkRecords(records);
  const lines = Object.entries(records).flatMap(([name, addresses]) =>
    addresses.map((address) => `${address} ${name}`),
  );
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * The dnsmasq configuration file: answers only from the hosts file, on the given addresses only,
 * with the given TTL; no /etc/hosts, no resolv.conf, no upstream (every other name is NXDOMAIN), no
 * DHCP (none is configured), no pid file; every query is logged on stderr. Pure.
 *
 * @param config addresses, port, hosts file and TTL
 * @returns the file's text, for `--conf-file`
 * @throws RangeError for a bad port or TTL, TypeError for a bad listen address
 */
export function renderDnsmasqConf(config: DnsmasqConfig): string {
  if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) {
    throw new RangeError(`dnsmasq: bad port ${config.port}`);
  }
  if (!Number.isInteger(config.ttl) || config.ttl < 0 || config.ttl > MAX_DNS_TTL) {
    throw new RangeError(`dnsmasq: ttl must be an integer from 0 to ${MAX_DNS_TTL}: ${config.ttl}`);
  }
  if (config.listen.length === 0) throw new TypeError('dnsmasq: no listen address');
  for (const address of config.listen) {
    if (isIP(address) === 0) throw new TypeError(`dnsmasq: bad listen address '${address}'`);
  }
  return [
    '# Written by the egress-router lab: only the records of the hosts file below.',
    'no-resolv',
    'no-hosts',
    'no-poll',
    // Every name is local: one not in the file is NXDOMAIN, never forwarded.
    'local=/#/',
    'bind-interfaces',
    ...config.listen.map((address) => `listen-address=${address}`),
    `port=${config.port}`,
    `addn-hosts=${config.hostsPath}`,
    `local-ttl=${config.ttl}`,
    `auth-ttl=${config.ttl}`,
    'pid-file=',
    'log-facility=-',
    'log-queries',
    '',
  ].join('\n');
}

/**
 * How many times dnsmasq's log says it read a hosts file (at start, then once per SIGHUP). Pure.
 *
 * @param log what dnsmasq printed
 * @param hostsPath the file
 * @returns the number of `read <file> - N names` lines
 */
export function countHostsReads(log: string, hostsPath: string): number {
  let count = 0;
  for (const line of log.split('\n')) {
    const match = /: read (\S+) - \d+ (?:names|addresses)$/.exec(line);
    if (match?.[1] === hostsPath) count++;
  }
  return count;
}

/**
 * The queries in dnsmasq's log (`log-queries`), in order. Pure.
 *
 * @param log what dnsmasq printed
 * @returns each `query[TYPE] NAME from ADDRESS`
 */
export function parseDnsmasqQueries(log: string): DnsmasqQuery[] {
  const queries: DnsmasqQuery[] = [];
  for (const line of log.split('\n')) {
    const match = /: query\[([^\]]+)\] (\S+) from (\S+)$/.exec(line);
    if (match !== null) queries.push({ type: match[1]!, name: match[2]!, from: match[3]! });
  }
  return queries;
}
