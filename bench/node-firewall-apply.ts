/**
 * Issue 11's apply goals: the node firewall's transaction for 100 namespaces x 1,000 rules in
 * under 1 s, and a one-namespace change with that loaded in under 50 ms. Also a DNS answer change,
 * an agent restart (the table replaced), and the same transactions given to nft as one document.
 *
 * `node dist/bench/node-firewall-apply.js [--quick]`
 */
import { fileURLToPath } from 'node:url';
import {
  type BenchContext,
  type BenchResult,
  fmt,
  type GoalSummary,
  median,
  ratio,
  runBench,
  stats,
  table,
} from './_common.js';
import type { Phases } from './_firewall-apply-run.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 5;
const NAMESPACES = 100;
const RULES = 1000;
const RUNNER = fileURLToPath(new URL('./_firewall-apply-run.js', import.meta.url));
const FIRST_GOAL_MS = 1000;
const CHANGE_GOAL_MS = 50;

interface RunnerOutput {
  samples: Record<string, Phases[]>;
  peers: Record<string, number[]>;
  maxBatchBytes: number;
}

async function body(ctx: BenchContext): Promise<BenchResult> {
  ctx.log(`timing in the lab's pod namespace: ${ROUNDS} rounds of ${NAMESPACES} x ${RULES} rules`);
  const result = await ctx.lab.exec(
    'pod',
    process.execPath,
    [RUNNER, String(ROUNDS), String(NAMESPACES), String(RULES)],
    {
      timeoutMs: 150_000,
    },
  );
  const output = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as RunnerOutput;
  const labels = Object.keys(output.samples);
  const m = (label: string, phase: keyof Phases) => median(output.samples[label]!.map((s) => s[phase]));
  const rows = labels.map((label) => {
    const totals = stats(output.samples[label]!.map((s) => s.total));
    return [
      label,
      String(totals.n),
      fmt(m(label, 'ops'), 0),
      fmt(m(label, 'plan')),
      fmt(m(label, 'build')),
      fmt(m(label, 'diff')),
      `**${fmt(m(label, 'apply'))}**`,
      `**${fmt(totals.median)}**`,
      fmt(totals.p90),
    ];
  });
  const peerRows = Object.entries(output.peers).map(([label, samples]) => {
    const s = stats(samples);
    const ours = label.startsWith('first') ? m('first apply', 'apply') : m('DNS answer change', 'apply');
    return [
      label,
      String(s.n),
      fmt(s.min, 0),
      `**${fmt(s.median, 0)}**`,
      fmt(s.p90, 0),
      ratio(s.median / ours, 1),
    ];
  });
  const firstApply = m('first apply', 'apply');
  const firstTotal = m('first apply', 'total');
  const change = m('one-namespace change', 'total');
  const dnsChange = m('DNS answer change', 'total');
  const goals: GoalSummary[] = [
    {
      goal: 'issue 11: apply 100 namespaces x 1,000 rules (the whole transaction)',
      target: `< ${FIRST_GOAL_MS} ms`,
      measured: `median ${fmt(firstApply, 0)} ms (with planning: ${fmt(firstTotal, 0)} ms)`,
      peer: `the same as one nft -j -f: ${fmt(median(output.peers['first apply, one nft -j -f'] ?? []), 0)} ms`,
      met: firstApply < FIRST_GOAL_MS,
    },
    {
      goal: 'issue 11: a one-namespace change with that loaded (plan, build, diff and apply)',
      target: `< ${CHANGE_GOAL_MS} ms`,
      measured: `median ${fmt(change)} ms`,
      peer: `a DNS answer change: ${fmt(dnsChange)} ms; as one nft -j -f: ${fmt(median(output.peers['DNS answer change, one nft -j -f'] ?? []), 0)} ms`,
      met: change < CHANGE_GOAL_MS,
    },
  ];
  const markdown = `
**Goals (issue 11):** the firewall's transaction for ${NAMESPACES} namespaces x ${RULES.toLocaleString('en-US')} rules in under
${FIRST_GOAL_MS / 1000} s; a one-namespace change with that loaded in under ${CHANGE_GOAL_MS} ms.

**How:** \`bench/_firewall-apply-run.ts\` runs inside one of the lab's namespaces and does what the
agent's reconcile does (\`src/node/agent.ts\`): \`planFirewall\` (validate, compile to first-match
ranges), \`buildFirewallTable\`, \`planTransaction\` (the diff) and \`applyTransaction\` (nft for the
chains and set declarations, nfnetlink element batches for the elements: docs/node-agent.md), each
timed. The state: ${NAMESPACES} namespaces, each with one EgressNetworkPolicy of ${RULES.toLocaleString('en-US')} rules (990
random IPv4 and IPv6 CIDRs, Allow or Deny, and 10 dnsNames with one address each; \`bench/_firewall-policies.ts\`,
seed 7) and 10 pods on this node. ${ROUNDS} rounds, each: delete the table, **first apply** (a new
agent: the table's names read, every set made); three **one-namespace changes** (one rule's verdict flipped in
a different namespace each time); one **DNS answer change** (one name's address replaced); an agent
**restart** (the table is there with elements the agent does not know: every set made anew under its next
generation and switched in one nft transaction). Then the peers: the table deleted, the same first apply and
the same DNS change given to \`nft -j -f -\` as one document each (what the agent did before it wrote
elements itself). Times in ms; *ops* = nft commands + element changes; *apply* includes the 5 ms the
agent waits before it flushes the caches of allowed pairs once more (docs/node-agent.md). The element batch limit was
${output.maxBatchBytes.toLocaleString('en-US')} bytes (the socket's send buffer: the kernel caps it at
\`net.core.wmem_max\`; a smaller one splits a first apply's elements over more batches, which is safe: nothing
refers to those sets until the last step).

${table(['case', 'N', 'ops', 'plan', 'build', 'diff', 'apply', 'total', 'p90 total'], rows)}

${table(['peer: one nft -j -f', 'N', 'min ms', 'median ms', 'p90 ms', '× our apply'], peerRows)}

- First apply: the transaction ${fmt(firstApply, 0)} ms: **${goals[0]!.met ? 'met' : 'missed'}**
  (with planning from the objects ${fmt(firstTotal, 0)} ms; a first apply in a new process is slower by the JIT's warm-up:
  the first round's total was ${fmt(output.samples['first apply']![0]!.total, 0)} ms).
- One-namespace change: ${fmt(change)} ms end to end: **${goals[1]!.met ? 'met' : 'missed'}**. A DNS answer change: ${fmt(dnsChange)} ms.
- Why not nft for the elements: nft 1.0.6 (Debian 12) reads every element of every table from the
  kernel before it runs any element command, so even a one-element change costs it about as much as
  listing the whole ruleset (see the DNS change's peer row).
`;
  return { markdown, goals, raw: { rounds: ROUNDS, namespaces: NAMESPACES, rules: RULES, ...output } };
}

await runBench(
  'node-firewall-apply',
  'bfa',
  'Node firewall: applying 100 namespaces x 1,000 rules',
  180_000,
  body,
);
