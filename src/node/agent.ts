import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Registry } from 'prom-client';
import { type ClusterState, emptyClusterState, type ObjectSource } from '../cluster/types.js';
import {
  type AppliedOverlay,
  applyOverlay,
  findPrimaryInterface,
  type PrimaryInterface,
  releaseAddresses,
} from '../egress-ip/apply.js';
import { planOverlay } from '../egress-ip/overlay-plan.js';
import { type EgressIpPlan, planEgressIps } from '../egress-ip/plan.js';
import { buildEgressIpRules } from '../egress-ip/ruleset.js';
import { applyTransaction, readCounters, readExistingTable } from '../firewall/apply.js';
import { DnsTracker } from '../firewall/dns-tracker.js';
import type { IpRange } from '../firewall/ip-range.js';
import { bigIntToIp, parseCanonicalCidr } from '../firewall/ip-range.js';
import { type CompileCache, type FirewallPlan, planFirewall } from '../firewall/plan.js';
import { countersByRule, type NamespaceCounters } from '../firewall/rule-counters.js';
import { buildFirewallTable, type DesiredTable, names } from '../firewall/ruleset.js';
import { type AppliedTable, isEmpty, planTransaction, transactionSize } from '../firewall/transaction.js';
import { type ElementSender, openElementSender } from '../network/nft-batch.js';
import type { Logger } from '../runtime/logger.js';
import { type NodeMetrics, registerNodeMetrics } from './metrics.js';
import type { NodeStatus } from './status.js';

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
}

/** A running agent. */
export interface NodeAgent {
  /** True once a transaction applied (or nothing needed changing). */
  ready(): boolean;
  /** The status, with the kernel's per-rule counters. */
  status(): Promise<NodeStatus>;
  /** Resolves after the next reconcile that starts after this call. */
  reconciled(): Promise<void>;
  /** Stops following the cluster and DNS; the rules stay in place. */
  close(): Promise<void>;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** Changes arriving this close together are one reconcile. */
const COALESCE_MS = 10;

/**
 * Starts the node agent: follows the source and the dnsNames, and after every change plans the
 * firewall (pure), diffs it against what the last transaction made and applies the difference as
 * one nft transaction. A refused transaction changes nothing and is retried with back-off; a bad
 * object changes only its own namespace (planFirewall). The first transaction waits for the first
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
  let egressPlan: EgressIpPlan | undefined;
  let egressProblems: string[] = [];
  let overlayApplied: AppliedOverlay | undefined;
  let primary: PrimaryInterface | undefined;
  let plan: FirewallPlan | undefined;
  const cache: CompileCache = new Map();
  let lastReconcile: NodeStatus['lastReconcile'];
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
    namespaces: plan?.statuses ?? [],
    dnsNames: dns.status(),
    problems: state.problems,
    ...(counters ? { counters } : {}),
    ...(egressPlan && (egressPlan.statuses.length > 0 || egressProblems.length > 0)
      ? { egressIPs: egressPlan.statuses, egressProblems }
      : {}),
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
      const egress = await planEgress();
      const desired = withEgressRules(buildFirewallTable(next), egress);
      // Egress IPs: the overlay and new addresses before the table SNATs to them, stale addresses after.
      const overlayNow =
        egress.active && primary
          ? await applyOverlay(egress.overlay, primary, egress.hosted, overlayApplied)
          : undefined;
      sender ??= openElementSender();
      const transaction = planTransaction(desired, applied, applied ? undefined : await readExistingTable(), {
        maxSwitchBytes: sender.maxBatchBytes,
      });
      commands = isEmpty(transaction) ? 0 : transactionSize(transaction);
      if (commands > 0) await applyTransaction(transaction, sender);
      applied = transaction.applied;
      if (primary && overlayApplied)
        await releaseAddresses(
          primary,
          overlayApplied,
          overlayNow ?? { peers: new Map(), addresses: new Set() },
        );
      overlayApplied = overlayNow;
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

  /** This node's egress IP plan and overlay; `active` when any namespace has egress IPs. */
  const planEgress = async () => {
    const overlay = planOverlay(state, options.nodeName);
    if (overlay.self && primary?.addresses.every((a) => a.address !== overlay.self?.hostIP) !== false) {
      primary = await findPrimaryInterface(overlay.self.hostIP);
    }
    const networks = (primary?.addresses ?? [])
      .filter((a) => a.scope === 0)
      .map((a) => parseCanonicalCidr(networkText(a.address, a.prefix)))
      .flatMap((r) => (r.ok ? [{ range: r.range, text: r.text }] : []));
    egressPlan = planEgressIps({
      state,
      nodeName: options.nodeName,
      clusterNetworks: options.clusterNetworks,
      ...(primary ? { nodeNetwork: { interface: primary.name, networks } } : {}),
    });
    egressProblems = [...egressPlan.problems, ...overlay.problems];
    if (overlay.self && !primary)
      egressProblems.push(`no interface holds this node's address ${overlay.self.hostIP}`);
    const active = egressPlan.statuses.length > 0 || overlayApplied !== undefined;
    return { plan: egressPlan, overlay, active, hosted: egressPlan.hosted.map((h) => h.ip) };
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
    status: async () => currentStatus(await readRuleCounters().catch(() => undefined)),
    reconciled: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        schedule();
      }),
    async close() {
      closed = true;
      clearTimeout(timer);
      dns.close();
      await options.source.close();
      await running;
      sender?.close();
    },
  };
}

function logChanges(
  log: Logger,
  previous: FirewallPlan | undefined,
  next: FirewallPlan,
  commands: number,
  durationMs: number,
): void {
  log.info(
    {
      commands,
      durationMs,
      namespaces: next.statuses.length,
      pods: next.pods.size,
    },
    'egress firewall applied',
  );
  const before = new Map((previous?.statuses ?? []).map((s) => [s.namespace, s]));
  for (const status of next.statuses) {
    const old = before.get(status.namespace);
    if (old && old.state === status.state && old.reason === status.reason) continue;
    const fields = {
      namespace: status.namespace,
      state: status.state,
      policies: status.policies,
      reason: status.reason,
      errors: status.errors,
    };
    if (status.state === 'enforced') log.info(fields, 'namespace egress firewall enforced');
    else log.error(fields, status.reason ?? status.state);
  }
}

function writeStatus(path: string | undefined, status: NodeStatus, log: Logger): void {
  if (!path) return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(status, null, 2)}\n`);
    renameSync(temporary, path);
  } catch (error) {
    log.warn({ err: (error as Error).message, path }, 'cannot write the status file');
  }
}

function ms(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** The firewall's table with the egress IP rules added, when any namespace has egress IPs. */
function withEgressRules(
  table: DesiredTable,
  egress: { plan: EgressIpPlan; overlay: ReturnType<typeof planOverlay>; active: boolean },
): DesiredTable {
  if (egress.plan.statuses.length === 0) return table;
  const marks = new Map(egress.overlay.peers.map((p) => [p.hostIP, p.mark]));
  const rules = buildEgressIpRules(egress.plan, marks, names);
  return {
    sets: new Map([...table.sets, ...rules.sets]),
    chains: new Map([...table.chains, ...rules.chains]),
  };
}

/** The network of an address, as canonical CIDR text. */
function networkText(address: string, prefix: number): string {
  const range = parseCanonicalCidr(`${address}/${address.includes(':') ? 128 : 32}`);
  if (!range.ok) return `${address}/${prefix}`;
  const bits = BigInt((address.includes(':') ? 128 : 32) - prefix);
  const start = (range.range.start >> bits) << bits;
  return `${bigIntToIp(start, range.range.family)}/${prefix}`;
}
