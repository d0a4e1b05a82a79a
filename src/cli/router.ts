import type { RouterEnv } from '../destination-parser/config.js';
import { ExitError } from './exit-error.js';
import { readRouterConfig } from './read-config.js';
import { runUnitTest } from './unit-test.js';

export const ROUTER_HELP = `Environment (the old ose-egress-router image's variables):
  EGRESS_SOURCE           source address(es): A.B.C.D[/N], IPv6[/N], or one of each separated by ','
  EGRESS_GATEWAY          gateway address(es), one per family of EGRESS_SOURCE
  EGRESS_DESTINATION      the destination list (see docs/destination-list.md)
  EGRESS_DESTINATION_FILE or a file holding it (a mounted ConfigMap); not both
  EGRESS_ROUTER_MODE      init | legacy (default) | http-proxy | dns-proxy | unit-test
  EGRESS_ROUTER_DEBUG     non-empty: log every step
  EGRESS_ROUTER_POD_INTERFACE     the pod-network interface (default eth0)
  EGRESS_ROUTER_EGRESS_INTERFACE  the interface traffic leaves by (default macvlan0)
`;

/**
 * The image's entrypoint: runs the mode EGRESS_ROUTER_MODE names.
 *
 * @param env the process environment
 * @param stdout where unit-test mode prints its rules
 * @returns the exit status
 * @throws ExitError with the first CONTRACT error when the configuration is invalid
 */
export async function runRouter(env: RouterEnv, stdout: NodeJS.WritableStream): Promise<number> {
  const result = readRouterConfig(env);
  if (!result.ok) throw new ExitError(result.errors[0]!.message);
  const config = result.value;
  if (config.mode === 'unit-test') {
    runUnitTest(config, stdout);
    return 0;
  }
  throw new ExitError(`EGRESS_ROUTER_MODE '${config.mode}' needs the network set-up, which is not built yet`);
}
