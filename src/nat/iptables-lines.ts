import type { RouterConfig } from '../destination-parser/config.js';
import { perFamilyValues } from '../destination-parser/source.js';

/**
 * The rules the old image loaded with iptables-restore (`unit-test` mode), one per line in list
 * order, then the SNAT line per family. IPv6 entries are the equivalent ip6tables lines.
 *
 * @param config a validated configuration
 * @returns the lines, without trailing newlines
 * @example
 * // -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.7.8.9:80
 */
export function iptablesLines(config: RouterConfig): string[] {
  const lines: string[] = [];
  const pod = config.podInterface;
  for (const entry of config.destinations) {
    // Names never get here: unit-test mode refuses them as the old image did.
    if (entry.kind === 'name-mapping' || entry.kind === 'name-fallback') continue;
    const { address, family } = entry.destination;
    if (entry.kind === 'fallback') {
      lines.push(`-A PREROUTING -i ${pod} -j DNAT --to-destination ${address}`);
      continue;
    }
    // As the old image: `<ip>:<port>` whenever the line wrote a remote port, even an equal one.
    const target = !entry.remotePortWritten
      ? address
      : family === 4
        ? `${address}:${entry.remotePort}`
        : `[${address}]:${entry.remotePort}`;
    lines.push(
      `-A PREROUTING -i ${pod} -p ${entry.protocol} --dport ${entry.localPort} -j DNAT --to-destination ${target}`,
    );
  }
  for (const source of perFamilyValues(config.source)) {
    lines.push(`-A POSTROUTING -j SNAT --to-source ${source.address}`);
  }
  return lines;
}
