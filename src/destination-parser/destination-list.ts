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

/** One entry of the destination list. */
export type Destination = PortMapping | Fallback;

/** The parsed list and every problem found, top to bottom. */
export interface DestinationListResult {
  readonly destinations: Destination[];
  readonly errors: ConfigError[];
}

/** Blank, or a comment: `#` to the end of the line, whatever it holds (a lone CR, U+2028, …). */
const DIGITS = /^[0-9]+$/;

/**
 * Parses an EGRESS_DESTINATION list. Lines are checked top to bottom; every problem is reported
 * with its 1-based line, in the exact CONTRACT text.
 *
 * @param text the list: one entry per line, blank lines and `#` lines ignored
 * @param sourceFamilies the families EGRESS_SOURCE has, or undefined to skip the family check
 * @returns the entries in list order and the errors, if any
 * @example parseDestinationList('80 tcp 203.0.113.25\n203.0.113.27', new Set([4]))
 */
export function parseDestinationList(
  text: string,
  sourceFamilies: ReadonlySet<Family> | undefined,
): DestinationListResult {
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

    if (fields.length === 1) {
      const ip = parseIp(line);
      if (ip === undefined) {
        fail(invalid());
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
    if (
      (fields.length !== 3 && fields.length !== 4) ||
      !DIGITS.test(portText) ||
      (protocol !== 'tcp' && protocol !== 'udp') ||
      ip === undefined ||
      (remotePortText !== undefined && !DIGITS.test(remotePortText))
    ) {
      fail(invalid());
      continue;
    }
    // The old image checked the remote port before the local one; keep its first error.
    const portError =
      (remotePortText === undefined ? undefined : checkPort(remotePortText, lineNumber)) ??
      checkPort(portText, lineNumber);
    if (portError) {
      fail(portError);
      continue;
    }
    const familyError = checkFamily(ip, line, lineNumber, sourceFamilies);
    if (familyError) {
      fail(familyError);
      continue;
    }
    const localPort = Number(portText);
    const key = `${protocol}/${ip.family}/${localPort}`;
    if (usedPorts.has(key)) {
      fail(
        configError(
          'PORT_IN_USE',
          `EGRESS_DESTINATION localport ${portText} is already used, must be unique for each destination`,
          lineNumber,
        ),
      );
      continue;
    }
    usedPorts.add(key);
    destinations.push({
      kind: 'mapping',
      line: lineNumber,
      protocol,
      localPort,
      destination: ip,
      remotePort: remotePortText === undefined ? localPort : Number(remotePortText),
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
