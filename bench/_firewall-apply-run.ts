/**
 * The node firewall apply benchmark's timing side: runs inside a lab namespace (so nft and the
 * nfnetlink socket talk to that namespace), does what the agent's reconcile does (plan, build,
 * diff, apply) on generated states, and prints the timings as one JSON line.
 *
 * `node dist/bench/_firewall-apply-run.js ROUNDS NAMESPACES RULES`
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterState } from '../src/cluster/types.js';
import { applyTransaction, readExistingTable } from '../src/firewall/apply.js';
import { parseCanonicalCidr } from '../src/firewall/ip-range.js';
import { type CompileCache, type DnsAddresses, planFirewall } from '../src/firewall/plan.js';
import { buildFirewallTable, NODE_TABLE, rangeElement } from '../src/firewall/ruleset.js';
import { type AppliedTable, type FirewallTransaction, planTransaction } from '../src/firewall/transaction.js';
import type { NftCommand } from '../src/nat/ruleset.js';
import { openElementSender } from '../src/network/nft-batch.js';
import type { ElementChange } from '../src/network/nft-elements.js';
import {
  BENCH_NODE,
  benchDnsName,
  benchNamespace,
  policyState,
  withOneRuleFlipped,
} from './_firewall-policies.js';

const [rounds = 5, namespaces = 100, rules = 1000] = process.argv.slice(2).map(Number);
const DNS_NAMES = 10;
const AVOID = ['203.0.113.0/24', '10.128.0.0/14', '172.30.0.0/16', '192.168.0.0/16'];
const net = (text: string) => {
  const parsed = parseCanonicalCidr(text);
  if (!parsed.ok) throw new Error(text);
  return parsed.range;
};

/** Milliseconds of each phase of one reconcile, and how many commands and element changes it held. */
export interface Phases {
  plan: number;
  build: number;
  diff: number;
  apply: number;
  total: number;
  ops: number;
}

const sender = openElementSender();
const samples: Record<string, Phases[]> = {};
const peers: Record<string, number[]> = {};
const peer = (label: string, ms: number) => {
  peers[label] = [...(peers[label] ?? []), ms];
};
const record = (label: string, phases: Phases) => {
  samples[label] ??= [];
  samples[label].push(phases);
};

// The state: every namespace's policy is `rules` rules, the last 10 of them dnsNames.
const base = policyState({ namespaces, rules, dnsNames: DNS_NAMES, avoid: AVOID, seed: 7 });
const dns = new Map<string, string[]>();
for (let n = 0; n < namespaces; n++) {
  for (let i = 0; i < DNS_NAMES; i++) dns.set(benchDnsName(benchNamespace(n), i), [`198.18.${n}.${i + 1}`]);
}

let state: ClusterState = base;
let cache: CompileCache = new Map();
let applied: AppliedTable | undefined;

async function reconcile(label: string, answers: DnsAddresses, fresh = false): Promise<FirewallTransaction> {
  const t0 = performance.now();
  const plan = planFirewall(
    {
      state,
      nodeName: BENCH_NODE,
      clusterNetworks: [net('10.128.0.0/14')],
      serviceNetworks: [net('172.30.0.0/16')],
      dns: answers,
    },
    cache,
  );
  const t1 = performance.now();
  const desired = buildFirewallTable(plan);
  const t2 = performance.now();
  const transaction = planTransaction(
    desired,
    fresh ? undefined : applied,
    fresh ? await readExistingTable() : undefined,
    {
      maxSwitchBytes: sender.maxBatchBytes,
    },
  );
  const t3 = performance.now();
  await applyTransaction(transaction, sender);
  const t4 = performance.now();
  applied = transaction.applied;
  const ops =
    transaction.prepare.nftables.length +
    transaction.fill.length +
    transaction.switch.length +
    transaction.finish.nftables.length;
  record(label, { plan: t1 - t0, build: t2 - t1, diff: t3 - t2, apply: t4 - t3, total: t4 - t0, ops });
  return transaction;
}

/** `nft -j -f FILE` of a document written beforehand (nft cannot read a Node pipe as /dev/stdin). */
function nftFile(document: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nft-'));
  try {
    const file = join(dir, 'ruleset.json');
    writeFileSync(file, document);
    const t0 = performance.now();
    const result = spawnSync('nft', ['-j', '-f', file], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`nft -j -f: ${result.stderr.trim().split('\n')[0]}`);
    return performance.now() - t0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function deleteTable(): void {
  spawnSync('nft', ['delete', 'table', NODE_TABLE.family, NODE_TABLE.name]);
}

/** The same change as one `nft -j -f` document: what the agent did before it wrote elements itself. */
function asOneNftDocument(transaction: FirewallTransaction): string {
  const elements = new Map<string, ElementChange[]>();
  const commands: NftCommand[] = [...transaction.prepare.nftables];
  for (const op of [...transaction.fill, ...transaction.switch]) {
    if (op.op === 'flush') {
      commands.push({ flush: { set: { family: NODE_TABLE.family, table: NODE_TABLE.name, name: op.set } } });
      continue;
    }
    const key = `${op.op} ${op.set}`;
    elements.set(key, [...(elements.get(key) ?? []), op]);
  }
  for (const [key, ops] of elements) {
    const [verb, set] = key.split(' ') as ['add' | 'delete', string];
    const elem = ops.map((op) => {
      const [, json] = rangeElement({ family: op.family, start: op.start, end: op.end });
      if (verb === 'delete' || op.verdict === undefined) return json;
      const verdict =
        typeof op.verdict === 'string' ? { [op.verdict]: null } : { jump: { target: op.verdict.jump } };
      return [json, verdict];
    });
    commands.push({
      [verb]: { element: { family: NODE_TABLE.family, table: NODE_TABLE.name, name: set, elem } },
    });
  }
  commands.push(...transaction.finish.nftables);
  return JSON.stringify({ nftables: commands });
}

for (let round = 0; round < rounds; round++) {
  // Ours: a first apply into a namespace without our table, as a new agent does.
  deleteTable();
  state = base;
  cache = new Map();
  applied = undefined;
  const first = await reconcile('first apply', dns, true);
  // One namespace's policy edited (a rule's verdict flipped), three different namespaces.
  for (const n of [round * 3 + 1, round * 3 + 2, round * 3 + 3]) {
    state = withOneRuleFlipped(state, benchNamespace(n % namespaces));
    await reconcile('one-namespace change', dns);
  }
  // One dnsName's answer changed (another address).
  const name = benchDnsName(benchNamespace((round * 7) % namespaces), round % DNS_NAMES);
  const answers = new Map(dns);
  answers.set(name, [`198.19.${round}.1`]);
  const dnsChange = await reconcile('DNS answer change', answers);
  // A restart: the table is there, what it holds is not known: every set anew, switched at once.
  cache = new Map();
  applied = undefined;
  await reconcile('restart (table replaced)', answers, true);

  // The peer: the same transactions as one nft document each (nft reads every element first).
  deleteTable();
  peer('first apply, one nft -j -f', nftFile(asOneNftDocument(first)));
  peer('DNS answer change, one nft -j -f', nftFile(asOneNftDocument(renamed(dnsChange, first))));
}
sender.close();
deleteTable();
process.stdout.write(`${JSON.stringify({ samples, peers, maxBatchBytes: sender.maxBatchBytes })}\n`);

/**
 * The DNS change's switch on the sets the nft-loaded first apply made (same names: both first
 * applies made generation 1); the restart in between does not count here.
 */
function renamed(change: FirewallTransaction, _first: FirewallTransaction): FirewallTransaction {
  const ops = change.switch.map((op) => ({ ...op, set: op.set.replace(/\.\d+$/, '.1') }));
  return { ...change, prepare: { nftables: [] }, fill: [], switch: ops, finish: { nftables: [] } };
}
