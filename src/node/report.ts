/** What a reconcile tells: the log lines of its changes and the status file. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FirewallPlan } from '../firewall/plan.js';
import type { Logger } from '../runtime/logger.js';
import type { NodeStatus } from './status.js';

/** One line for the transaction, and one per namespace whose state or reason changed. */
export function logChanges(
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

/** The status as JSON at `path`, written whole (a temporary file renamed). */
export function writeStatus(path: string | undefined, status: NodeStatus, log: Logger): void {
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
