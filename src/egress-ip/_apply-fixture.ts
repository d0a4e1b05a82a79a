/**
 * Test support, not part of the API: applies a firewall table with no policy plus the egress IP
 * rules of a plan given as JSON, in the network namespace the process is in, with the agent's
 * transaction path (planTransaction, applyTransaction). `ip netns exec NS node _apply-fixture.js JSON`;
 * prints `{ ok }` or `{ ok: false, error }`.
 */
import { applyTransaction, readExistingTable } from '../firewall/apply.js';
import { parseCanonicalCidr } from '../firewall/ip-range.js';
import { buildFirewallTable, names } from '../firewall/ruleset.js';
import { planTransaction } from '../firewall/transaction.js';
import { openElementSender } from '../network/nft-batch.js';
import type { EgressIpPlan } from './plan.js';
import { buildEgressIpRules } from './ruleset.js';

interface Input {
  readonly clusterNetworks: readonly string[];
  readonly serviceNetworks: readonly string[];
  readonly remote: readonly [string, string][];
  readonly hosted: EgressIpPlan['hosted'];
  readonly dropped: readonly string[];
  readonly marks: readonly [string, number][];
}

const net = (text: string) => {
  const parsed = parseCanonicalCidr(text);
  if (!parsed.ok) throw new Error(`not a CIDR: ${text}`);
  return parsed.range;
};

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as Input;
  const firewall = buildFirewallTable({
    clusterNetworks: input.clusterNetworks.map(net),
    serviceNetworks: input.serviceNetworks.map(net),
    namespaces: new Map(),
    pods: new Map(),
    statuses: [],
    dnsNames: new Set(),
  });
  const plan: EgressIpPlan = {
    statuses: [],
    problems: [],
    hosted: input.hosted,
    remote: new Map(input.remote),
    dropped: new Set(input.dropped),
    automatic: [],
  };
  const egress = buildEgressIpRules(plan, new Map(input.marks), names);
  const table = {
    sets: new Map([...firewall.sets, ...egress.sets]),
    chains: new Map([...firewall.chains, ...egress.chains]),
  };
  const sender = openElementSender();
  try {
    const transaction = planTransaction(table, undefined, await readExistingTable(), {
      maxSwitchBytes: sender.maxBatchBytes,
    });
    await applyTransaction(transaction, sender);
  } finally {
    sender.close();
  }
}

main().then(
  () => process.stdout.write(`${JSON.stringify({ ok: true })}\n`),
  (error: Error) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: error.message })}\n`);
    process.exitCode = 1;
  },
);
