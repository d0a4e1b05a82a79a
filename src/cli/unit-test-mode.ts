import type { RouterConfig } from '../destination-parser/config.js';
import { iptablesLines } from '../nat/iptables-lines.js';

/**
 * `EGRESS_ROUTER_MODE=unit-test`: prints the old image's iptables-restore lines on stdout and
 * touches nothing.
 *
 * @param config a validated configuration
 * @param stdout where to write
 */
export function runUnitTest(config: RouterConfig, stdout: NodeJS.WritableStream): void {
  const lines = iptablesLines(config);
  stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : '');
}
