import { parseDomainName } from '../dns-proxy/domain-name.js';
import { type Family, type IpAddress, parseIp } from './address.js';
import { type ConfigError, configError } from './errors.js';
import { listLines } from './list-lines.js';

/** A transport protocol a port mapping applies to. */
export type Protocol = 'tcp' | 'udp';

/** `<port> <proto> <ip> [<remote port>]`: connections to a local port go to an address and port. */
export interface PortMapping {
  readonly kind: 'mapping';
  readonly line: number;
  readonly protocol: Protocol;
  readonly localPort: number;
  readonly destination: IpAddress;
  readonly remotePort: number;
  /**
   * Whether the line wrote `<remote port>`: unit-test mode then prints `<ip>:<port>` even when the
   * port equals the local one, as the old image did.
   */
  readonly remotePortWritten: boolean;
}

/** `<ip>`: every other port of this family goes to the address, same port. */
export interface Fallback {
  readonly kind: 'fallback';
  readonly line: number;
  readonly destination: IpAddress;
}

/**
 * `<port> <proto> <name> [<remote port>]` (legacy mode only): connections to a local port go to the
 * addresses of a DNS name, resolved while the router runs.
 */
export interface NameMapping {
  readonly kind: 'name-mapping';
  readonly line: number;
  readonly protocol: Protocol;
  readonly localPort: number;
  /** The name in canonical form (lower case, no final dot). */
  readonly name: string;
  readonly remotePort: number;
  /** The families the entry serves: those of EGRESS_SOURCE (A records for 4, AAAA for 6). */
  readonly families: readonly Family[];
}

/** `<name>` as the last line (legacy mode only): every other port goes to the name's addresses. */
export interface NameFallback {
  readonly kind: 'name-fallback';
  readonly line: number;
  readonly name: string;
  readonly families: readonly Family[];
}

/** One entry of the destination list. */
export type Destination = PortMapping | Fallback | NameMapping | NameFallback;

/**
 * What a DNS name where an address belongs means: `allowed` (legacy mode), `invalid` (the old
 * image's plain error, kept in unit-test mode), `needs-legacy` (the plain error with the reason: no
 * process stays to resolve it in the other modes).
 */
export type NamePolicy = 'allowed' | 'invalid' | 'needs-legacy';

/** Options of {@link parseDestinationList}. */
export interface DestinationListOptions {
  /** Default `invalid`, as the old image. */
  readonly names?: NamePolicy;
}

/** The parsed list and every problem found, top to bottom. */
export interface DestinationListResult {
  readonly destinations: Destination[];
  readonly errors: ConfigError[];
}

const DIGITS = /^[0-9]+$/;

/**
 * Parses an EGRESS_DESTINATION list. Lines are checked top to bottom; every problem is reported
 * with its 1-based line, in the exact CONTRACT text.
 *
 * @param text the list: one entry per line, blank lines and `#` lines ignored
 * @param sourceFamilies the families EGRESS_SOURCE has, or undefined to skip the family check (a
 *   name entry then serves both families)
 * @param options whether a DNS name may stand where an address does (legacy mode)
 * @returns the entries in list order and the errors, if any
 * @example parseDestinationList('80 tcp 203.0.113.25\n203.0.113.27', new Set([4]))
 * @example parseDestinationList('80 tcp db.example.com 5432', new Set([4]), { names: 'allowed' })
 */
export function parseDestinationList(
  text: string,
  sourceFamilies: ReadonlySet<Family> | undefined,
  options: DestinationListOptions = {},
): DestinationListResult {
  const namePolicy = options.names ?? 'invalid';
  const nameFamilies: Family[] = sourceFamilies
    ? ([4, 6].filter((f) => sourceFamilies.has(f as Family)) as Family[])
    : [4, 6];
  const destinations: Destination[] = [];
  const errors: ConfigError[] = [];
  const usedPorts = new Set<string>();
  const fallbackFamilies = new Set<Family>();
  for (const { number: lineNumber, text: line } of listLines(text)) {
    const fields = line.split(/[ \t]+/);
    const fail = (error: ConfigError): void => {
      errors.push(error);
    };

    if (fallbackFamilies.size > 0) {
      const ip = fields.length === 1 ? parseIp(line) : undefined;
      if (ip === undefined || fallbackFamilies.has(ip.family)) {
        fail(
          configError(
            'FALLBACK_NOT_LAST',
            'EGRESS_DESTINATION fallback IP must be the last line',
            lineNumber,
          ),
        );
        continue;
      }
    }

    const invalid = () =>
      configError('DESTINATION_INVALID', `EGRESS_DESTINATION value '${line}' is invalid`, lineNumber);
    /** A name where an address belongs, in a mode without names: the error, else undefined. */
    const nameRefused = () =>
      namePolicy === 'allowed'
        ? undefined
        : namePolicy === 'invalid'
          ? invalid()
          : configError(
              'DESTINATION_NAME_NEEDS_LEGACY',
              `EGRESS_DESTINATION value '${line}' is invalid: a DNS name needs EGRESS_ROUTER_MODE legacy`,
              lineNumber,
            );

    if (fields.length === 1) {
      const ip = parseIp(line);
      if (ip === undefined) {
        const name = parseDomainName(line);
        const refused = name === undefined ? invalid() : nameRefused();
        if (refused || name === undefined) {
          fail(refused ?? invalid());
          continue;
        }
        for (const family of nameFamilies) fallbackFamilies.add(family);
        destinations.push({ kind: 'name-fallback', line: lineNumber, name, families: nameFamilies });
        continue;
      }
      const familyError = checkFamily(ip, line, lineNumber, sourceFamilies);
      if (familyError) {
        fail(familyError);
        continue;
      }
      fallbackFamilies.add(ip.family);
      destinations.push({ kind: 'fallback', line: lineNumber, destination: ip });
      continue;
    }

    const [portText = '', protocol = '', addressText = '', remotePortText] = fields;
    const ip = parseIp(addressText);
    const name = ip === undefined ? parseDomainName(addressText) : undefined;
    if (
      (fields.length !== 3 && fields.length !== 4) ||
      !DIGITS.test(portText) ||
      (protocol !== 'tcp' && protocol !== 'udp') ||
      (ip === undefined && name === undefined) ||
      (remotePortText !== undefined && !DIGITS.test(remotePortText))
    ) {
      fail(invalid());
      continue;
    }
    if (name !== undefined) {
      const refused = nameRefused();
      if (refused) {
        fail(refused);
        continue;
      }
    }
    // The old image checked the remote port before the local one; keep its first error.
    const portError =
      (remotePortText === undefined ? undefined : checkPort(remotePortText, lineNumber)) ??
      checkPort(portText, lineNumber);
    if (portError) {
      fail(portError);
      continue;
    }
    const familyError = ip === undefined ? undefined : checkFamily(ip, line, lineNumber, sourceFamilies);
    if (familyError) {
      fail(familyError);
      continue;
    }
    const localPort = Number(portText);
    const keys = (ip === undefined ? nameFamilies : [ip.family]).map(
      (family) => `${protocol}/${family}/${localPort}`,
    );
    if (keys.some((key) => usedPorts.has(key))) {
      fail(
        configError(
          'PORT_IN_USE',
          `EGRESS_DESTINATION localport ${portText} is already used, must be unique for each destination`,
          lineNumber,
        ),
      );
      continue;
    }
    for (const key of keys) usedPorts.add(key);
    const remotePort = remotePortText === undefined ? localPort : Number(remotePortText);
    if (ip === undefined) {
      destinations.push({
        kind: 'name-mapping',
        line: lineNumber,
        protocol,
        localPort,
        name: name as string,
        remotePort,
        families: nameFamilies,
      });
      continue;
    }
    destinations.push({
      kind: 'mapping',
      line: lineNumber,
      protocol,
      localPort,
      destination: ip,
      remotePort,
      remotePortWritten: remotePortText !== undefined,
    });
  }
  return { destinations, errors };
}

function checkPort(text: string, line: number): ConfigError | undefined {
  const port = Number(text);
  if (port >= 1 && port <= 65535) return undefined;
  return configError('PORT_INVALID', `Invalid port: ${text}, must be in the range 1 to 65535`, line);
}

function checkFamily(
  ip: IpAddress,
  line: string,
  lineNumber: number,
  sourceFamilies: ReadonlySet<Family> | undefined,
): ConfigError | undefined {
  if (sourceFamilies === undefined || sourceFamilies.has(ip.family)) return undefined;
  return configError(
    'DESTINATION_FAMILY_WITHOUT_SOURCE',
    `EGRESS_DESTINATION value '${line}' is invalid: EGRESS_SOURCE has no IPv${ip.family} address`,
    lineNumber,
  );
}
