import type { Registry } from 'prom-client';
import { type ClusterState, emptyClusterState, type ObjectSource } from '../cluster/types.js';
import type { EgressHoldings } from '../egress-ip/probes.js';
import { applyTransaction, readCounters, readExistingTable, readTableHandle } from '../firewall/apply.js';
import { DnsTracker } from '../firewall/dns-tracker.js';
import type { IpRange } from '../firewall/ip-range.js';
import { type CompileCache, type FirewallPlan, planFirewall } from '../firewall/plan.js';
import { countersByRule, type NamespaceCounters } from '../firewall/rule-counters.js';
import { buildFirewallTable } from '../firewall/ruleset.js';
import { type AppliedTable, planTransaction, transactionSize } from '../firewall/transaction.js';
import { type ElementSender, openElementSender } from '../network/nft-batch.js';
import type { Logger } from '../runtime/logger.js';
import { NodeEgressIps, type NodeEgressIpsOptions } from './egress-ips.js';
import { type NodeMetrics, registerNodeMetrics } from './metrics.js';
import { logChanges, writeStatus } from './report.js';
import type { NodeStatus } from './status.js';
import { DEFAULT_VERIFY_INTERVAL_MS, startVerifier, type VerifyTarget } from './verify.js';

/** What the agent needs. */
export interface NodeAgentOptions {
  readonly source: ObjectSource;
  readonly nodeName: string;
  readonly clusterNetworks: readonly IpRange[];
  readonly serviceNetworks: readonly IpRange[];
  readonly log: Logger;
  readonly registry: Registry;
  /** Where the status is written after every reconcile (atomically), for `node status`. */
  readonly statusFile?: string;
  /** How long the first reconcile waits for the dnsNames' first answers (default 5 s). */
  readonly dnsSettleMs?: number;
  readonly dns?: DnsTracker;
  /** The admin port of every node's agent: automatic egress IPs ask the others there (default 9093). */
  readonly adminPort?: number;
  /** With the Kubernetes source: the API and namespace of the node Leases (automatic egress IPs). */
  readonly egressLeases?: NodeEgressIpsOptions['leases'];
  /** How often the kernel's rules are checked against the last transaction (0: never; default 10 s). */
  readonly verifyIntervalMs?: number;
}

/** A running agent. */
export interface NodeAgent {
  /** True once a transaction applied (or nothing needed changing). */
  ready(): boolean;
  /** The status, with the kernel's per-rule counters. */
  status(): Promise<NodeStatus>;
  /** Resolves after the next reconcile that starts after this call. */
  reconciled(): Promise<void>;
  /** The automatic egress IPs this node hosts (`GET /egress`, what the other agents ask). */
  egress(): EgressHoldings;
  /** Stops following the cluster and DNS; the rules stay in place. */
  close(): Promise<void>;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** Changes arriving this close together are one reconcile. */
const COALESCE_MS = 10;

/**
 * Starts the node agent: follows the source and the dnsNames, and after every change plans the
 * firewall and the egress IPs (pure), diffs them against what the last transaction made and applies
 * the difference (src/firewall/transaction.ts: steps that are each one kernel transaction or unseen
 * by packets). A refused step leaves a whole table and is retried with back-off; a bad object changes
 * only its own namespace (planFirewall). The first transaction waits for the first
 * DNS answers, so a restart does not take away addresses the previous run allowed.
 *
 * @param options the source, this node, the networks, logger and registry
 * @returns the agent once the first transaction ran (applied or failed)
 * @throws when the source's first list fails
 */
export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const { log } = options;
  let state: ClusterState = emptyClusterState();
  let applied: AppliedTable | undefined;
  let sender: ElementSender | undefined;
  let plan: FirewallPlan | undefined;
  const cache: CompileCache = new Map();
  let lastReconcile: NodeStatus['lastReconcile'];
  let lastRestore: NodeStatus['lastRestore'];
  /** The table's handle after the last transaction (a table made again by someone else has another). */
  let tableHandle: bigint | undefined;
  let isReady = false;
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let waiters: (() => void)[] = [];

  const currentStatus = (counters?: readonly NamespaceCounters[]): NodeStatus => ({
    node: options.nodeName,
    source: options.source.description,
    ...(lastReconcile ? { lastReconcile } : {}),
    ...(lastRestore ? { lastRestore } : {}),
    namespaces: plan?.statuses ?? [],
    dnsNames: dns.status(),
    problems: state.problems,
    ...(counters ? { counters } : {}),
    ...egressIps.status(),
  });
  const readRuleCounters = async () => (plan ? countersByRule(plan, await readCounters()) : []);
  const metrics: NodeMetrics = registerNodeMetrics(options.registry, () => currentStatus(), readRuleCounters);
  const dns =
    options.dns ??
    new DnsTracker({
      onChange: () => schedule(),
      onLookup: (name, lookup, answers) => {
        const ok = lookup.v4.kind === 'records' || lookup.v6.kind === 'records';
        metrics.dnsLookups.inc({ result: ok ? 'records' : 'none' });
        const fields = {
          dnsName: name,
          addresses: [...answers.addresses.keys()],
          failures: answers.failures,
        };
        if (ok) log.debug(fields, 'dnsName looked up');
        else log.warn({ ...fields, error: answers.lastError }, 'dnsName lookup found no address; retrying');
      },
    });

  const egressIps = new NodeEgressIps({
    nodeName: options.nodeName,
    clusterNetworks: options.clusterNetworks,
    adminPort: options.adminPort ?? 9093,
    onChange: () => schedule(),
    ...(options.egressLeases ? { leases: options.egressLeases } : {}),
    log: (fields, msg) => log.info(fields, msg),
  });

  const reconcile = async (): Promise<void> => {
    const started = performance.now();
    const input = {
      state,
      nodeName: options.nodeName,
      clusterNetworks: options.clusterNetworks,
      serviceNetworks: options.serviceNetworks,
      dns: dns.addresses(),
    };
    const next = planFirewall(input, cache);
    dns.setNames(next.dnsNames);
    let commands = 0;
    try {
      const egress = await egressIps.plan(state);
      const desired = egressIps.withRules(buildFirewallTable(next), egress);
      // Egress IPs: the overlay and new addresses before the table SNATs to them, stale ones after.
      const overlayNow = await egressIps.before(egress);
      sender ??= openElementSender();
      const transaction = planTransaction(desired, applied, applied ? undefined : await readExistingTable(), {
        maxSwitchBytes: sender.maxBatchBytes,
      });
      commands = transactionSize(transaction);
      if (commands > 0) await applyTransaction(transaction, sender);
      if (commands > 0 || tableHandle === undefined)
        tableHandle = await readTableHandle().catch(() => undefined);
      applied = transaction.applied;
      await egressIps.after(egress, overlayNow);
      const previous = plan;
      plan = next;
      failures = 0;
      isReady = true;
      lastReconcile = { at: new Date().toISOString(), durationMs: ms(started), ok: true, commands };
      metrics.reconciles.inc({ result: 'ok' });
      if (commands > 0) logChanges(log, previous, next, commands, ms(started));
    } catch (error) {
      failures++;
      // What the kernel holds is no longer known for sure: the next try reads the table's names and
      // makes every set anew (planTransaction without `applied`).
      applied = undefined;
      sender?.close();
      sender = undefined;
      const message = (error as Error).message;
      lastReconcile = {
        at: new Date().toISOString(),
        durationMs: ms(started),
        ok: false,
        error: message,
        commands,
      };
      metrics.reconciles.inc({ result: 'error' });
      log.error({ err: message, failures }, 'nft transaction refused; the rules before it stay; retrying');
      const delay = Math.min(RETRY_MIN_MS * 2 ** (failures - 1), RETRY_MAX_MS);
      setTimeout(() => schedule(), delay).unref();
    }
    metrics.reconcileSeconds.observe(ms(started) / 1000);
    writeStatus(options.statusFile, currentStatus(), log);
  };

  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        const done = waiters;
        waiters = [];
        await reconcile();
        for (const waiter of done) waiter();
      } while (again && !closed);
      running = undefined;
    })();
    return running;
  };
  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void run();
    }, COALESCE_MS);
  };

  // Someone else's change to our rules (a flushed ruleset, a deleted device) is put right.
  let verifier: { close(): void } | undefined;
  const verifyTarget: VerifyTarget = {
    running: () => running,
    applied: () => (applied ? { table: applied, handle: tableHandle } : undefined),
    egressIps,
    restore: async (drift, table) => {
      if (table) applied = undefined;
      metrics.restores.inc();
      lastRestore = { at: new Date().toISOString(), drift, count: (lastRestore?.count ?? 0) + 1 };
      log.warn({ drift }, 'the rules were changed by someone else: restoring them');
      await run();
    },
    warn: (fields, msg) => log.warn(fields, msg),
  };

  await options.source.start(
    (next) => {
      state = next;
      if (plan) schedule();
    },
    (error) => log.warn({ err: error.message }, 'object source: recovering'),
  );
  // The names of the first state, looked up before the first transaction.
  dns.setNames(planFirewall({ ...inputOf(), dns: new Map() }).dnsNames);
  await dns.settled(options.dnsSettleMs ?? 5_000);
  await run();
  verifier = startVerifier(options.verifyIntervalMs ?? DEFAULT_VERIFY_INTERVAL_MS, verifyTarget);

  function inputOf() {
    return {
      state,
      nodeName: options.nodeName,
      clusterNetworks: options.clusterNetworks,
      serviceNetworks: options.serviceNetworks,
    };
  }

  return {
    ready: () => isReady,
    egress: () => egressIps.holdings(),
    status: async () => currentStatus(await readRuleCounters().catch(() => undefined)),
    reconciled: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        schedule();
      }),
    async close() {
      closed = true;
      clearTimeout(timer);
      verifier?.close();
      egressIps.close();
      dns.close();
      await options.source.close();
      await running;
      sender?.close();
    },
  };
}

function ms(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
