import { type IpAddress, parseIp } from '../destination-parser/address.js';
import { listLines } from '../destination-parser/list-lines.js';
import { isConnectable } from './connectable.js';
import { parseDomainName } from './domain-name.js';
import { type DnsProxyError, dnsProxyError } from './errors.js';

/** Where an entry's connections go: a literal address, or a name resolved again and again. */
export type Target =
  | { readonly kind: 'address'; readonly address: IpAddress }
  | { readonly kind: 'name'; readonly name: string };

/** One line of EGRESS_DNS_PROXY_DESTINATION: TCP connections to `listenPort` go to the target. */
export interface DnsProxyEntry {
  /** 1-based line of the list. */
  readonly line: number;
  readonly listenPort: number;
  readonly target: Target;
  readonly remotePort: number;
}

/** The parsed list and every problem found, top to bottom. */
export interface DestinationsResult {
  readonly entries: DnsProxyEntry[];
  readonly errors: DnsProxyError[];
}

/** Blank, or a comment: `#` to the end of the line. */
const DIGITS = /^[0-9]+$/;

/**
 * Parses an EGRESS_DNS_PROXY_DESTINATION list: `<port> <ip>`, `<port> <ip> <remote port>`,
 * `<port> <domain name>`, `<port> <domain name> <remote port>`. Blank lines and `#` lines are
 * ignored; fields are separated by spaces or tabs. Each line is checked as the old image checked
 * it, in its order: the form (`Bad destination`), the proxy port, the remote port (`Invalid port`),
 * then uniqueness of the proxy port (`Proxy port … already used`). Every problem is reported with
 * its 1-based line.
 *
 * @param text the list
 * @returns the entries in list order and the errors, if any
 * @example parseDestinations('80 203.0.113.25\n8443 api.example.com 443')
 */
export function parseDestinations(text: string): DestinationsResult {
  const entries: DnsProxyEntry[] = [];
  const errors: DnsProxyError[] = [];
  const usedPorts = new Set<number>();
  for (const { number: lineNumber, text: line } of listLines(text)) {
    const fields = line.split(/[ \t]+/);
    const [portText = '', targetText = '', remotePortText] = fields;
    const target = parseTarget(targetText);
    if (
      (fields.length !== 2 && fields.length !== 3) ||
      !DIGITS.test(portText) ||
      target === undefined ||
      (remotePortText !== undefined && !DIGITS.test(remotePortText))
    ) {
      errors.push(dnsProxyError('DESTINATION_INVALID', `Bad destination '${line}'`, lineNumber));
      continue;
    }
    const portError =
      checkPort(portText, lineNumber) ??
      (remotePortText === undefined ? undefined : checkPort(remotePortText, lineNumber));
    if (portError) {
      errors.push(portError);
      continue;
    }
    const listenPort = Number(portText);
    if (usedPorts.has(listenPort)) {
      errors.push(
        dnsProxyError(
          'PORT_IN_USE',
          `Proxy port ${portText} already used, must be unique for each destination`,
          lineNumber,
        ),
      );
      continue;
    }
    usedPorts.add(listenPort);
    entries.push({
      line: lineNumber,
      listenPort,
      target,
      remotePort: remotePortText === undefined ? listenPort : Number(remotePortText),
    });
  }
  return { entries, errors };
}

function parseTarget(text: string): Target | undefined {
  const address = parseIp(text);
  if (address !== undefined) return isConnectable(address) ? { kind: 'address', address } : undefined;
  const name = parseDomainName(text);
  return name === undefined ? undefined : { kind: 'name', name };
}

function checkPort(text: string, line: number): DnsProxyError | undefined {
  const port = Number(text);
  if (port >= 1 && port <= 65535) return undefined;
  return dnsProxyError('PORT_INVALID', `Invalid port: ${text}, must be in the range 1 to 65535`, line);
}

/**
 * The target as text: the name, or the address.
 *
 * @param target an entry's target
 */
export function targetText(target: Target): string {
  return target.kind === 'name' ? target.name : target.address.address;
}
