import type { RouterEnv } from '../destination-parser/config.js';
import { planRouter, type RouterPlan } from '../destination-parser/plan.js';
import { renderRuleset } from '../nat/render-text.js';
import { buildRuleset } from '../nat/ruleset.js';
import { parseCommandArgs } from './args.js';
import { ExitError } from './exit-error.js';
import { readRouterConfig } from './read-config.js';

export const PLAN_HELP = `Usage: egress-router plan [--json]

Prints what set-up would do with the current environment (EGRESS_SOURCE, EGRESS_GATEWAY,
EGRESS_ROUTER_MODE, EGRESS_DESTINATION or EGRESS_DESTINATION_FILE), touching nothing:
the network steps as comments, then the nftables table in nft syntax.

  --json   print the exact nft JSON transaction set-up applies with 'nft -j -f -'

Exit status: 0, or 1 with the first problem on stderr when the configuration is invalid.
`;

/**
 * \`egress-router plan [--json]\`.
 *
 * @param args the arguments after \`plan\`
 * @param env the process environment
 * @param stdout where the plan goes
 * @throws ExitError when the configuration is invalid
 */
export function runPlan(args: string[], env: RouterEnv, stdout: NodeJS.WritableStream): void {
  const { values } = parseCommandArgs('plan', args, { json: { type: 'boolean' } }, 0);
  if (values.help) {
    stdout.write(PLAN_HELP);
    return;
  }
  const result = readRouterConfig(env);
  if (!result.ok) throw new ExitError(result.errors[0]!.message);
  const plan = planRouter(result.value);
  if (values.json) {
    stdout.write(`${JSON.stringify(buildRuleset(plan.nat), null, 1)}\n`);
  } else {
    stdout.write(
      `${describeNetwork(plan)
        .map((line) => `# ${line}`)
        .join('\n')}\n${renderRuleset(plan.nat)}`,
    );
  }
}

/**
 * The network steps of a plan in words, one per line.
 *
 * @param plan a router plan
 * @returns the lines, in the order set-up does them
 */
export function describeNetwork(plan: RouterPlan): string[] {
  const dev = plan.egressInterface;
  return [
    `egress-router plan: mode ${plan.mode}, pod interface ${plan.podInterface}, egress interface ${dev}`,
    ...plan.addresses.map((a) => `address ${a.address}/${a.prefix} on ${dev}, ${dev} up`),
    ...plan.routes.map((r) =>
      r.gateway === undefined
        ? `route ${r.destination.address}/${r.destination.prefix} dev ${r.device}`
        : `route default via ${r.gateway} dev ${r.device} (replacing the default route)`,
    ),
    ...plan.forwarding.map((f) =>
      f === 4 ? 'sysctl net.ipv4.ip_forward = 1' : 'sysctl net.ipv6.conf.all.forwarding = 1',
    ),
    ...plan.nat.names.map(
      (n) =>
        `name ${n.name} (line ${n.line}, ${n.kind === 'mapping' ? `${n.protocol} ${n.localPort}` : 'fallback'}, IPv${n.family}): resolved at run time into map ${n.map}, re-resolved at its TTL; empty until then (refused)`,
    ),
    ...plan.announce.map(
      (a) =>
        `announce ${a.address} on ${dev} (${a.family === 4 ? 'gratuitous ARP' : 'unsolicited neighbour advertisement'}, now and about 2 s later)`,
    ),
    `nftables: replace table inet egress_router atomically with:`,
  ];
}
