import type { Logger } from '../runtime/logger.js';
import { ProxyError } from './errors.js';
import type { CompiledPolicy } from './policy/compile-policy.js';
import { type Decision, decide, denyByName } from './policy/decide.js';
import { type NumericIp, numericIpToString } from './policy/ip.js';
import type { Target } from './target.js';

/** The outcome of checking a target: where the proxy may connect, and the decision as data. */
export interface Checked {
  readonly decision: Decision;
  readonly addresses: readonly NumericIp[];
}

/** What checking a target needs: the running policy, the logger (debug lines), the self check and the resolver. */
export interface CheckDeps {
  /** The running policy; read once per request, so a reload applies to new requests only. */
  readonly policy: () => CompiledPolicy;
  readonly log: Logger;
  readonly isSelf: (ip: NumericIp) => boolean;
  readonly resolve: (name: string) => Promise<NumericIp[]>;
}

/** Who waits for a check: one of the two is called, once (an object, not two closures per request). */
export interface CheckListener {
  allowed(checked: Checked): void;
  refused(error: ProxyError): void;
}

/**
 * Checks a target and calls the listener's `allowed` or `refused` with the outcome. The decision
 * (rule, reason) is recorded in `entry` (the request's log entry), also when it denies.
 */
export type CheckTarget = (target: Target, entry: Record<string, unknown>, listener: CheckListener) => void;

/**
 * Makes the target check of the proxy: the policy's decision for an IP literal at once (no
 * promise on the request path), for a name first by name (`!name` rules), then after resolving it
 * for every address. The proxy's own addresses are never allowed.
 *
 * @param deps policy, logger, self check and resolver
 * @returns the check
 */
export function createTargetCheck(deps: CheckDeps): CheckTarget {
  const { log } = deps;

  /** The check itself: throws (or rejects with) a ProxyError when the target is refused. */
  function check(target: Target, entry: Record<string, unknown>): Checked | Promise<Checked> {
    const policy = deps.policy();
    if (target.ip) return decideFor(policy, target, [target.ip], entry);
    const byName = denyByName(policy, target.name!);
    if (byName) {
      entry.rule = byName.rule?.index;
      entry.reason = byName.reason;
      throw new ProxyError('DENIED', byName.reason);
    }
    return deps.resolve(target.name!).then((candidates) => decideFor(policy, target, candidates, entry));
  }

  function decideFor(
    policy: CompiledPolicy,
    target: Target,
    candidates: readonly NumericIp[],
    entry: Record<string, unknown>,
  ): Checked {
    const decision = decide(policy, target.name, candidates);
    entry.rule = decision.rule?.index;
    entry.reason = decision.reason;
    if (log.isLevelEnabled('debug')) {
      log.debug(
        {
          host: target.authority,
          addresses: decision.perAddress.map((d) => ({
            address: numericIpToString(d.address),
            result: d.result,
            rule: d.rule?.index,
          })),
        },
        'decision per address',
      );
    }
    if (decision.result === 'deny') throw new ProxyError('DENIED', decision.reason);
    const addresses = decision.allowed.filter((ip) => !deps.isSelf(ip));
    if (addresses.length === 0) throw new ProxyError('SELF', 'the proxy does not connect to itself');
    return { decision, addresses };
  }

  return (target, entry, listener) => {
    let checked: Checked | Promise<Checked>;
    try {
      checked = check(target, entry);
    } catch (error) {
      listener.refused(error as ProxyError);
      return;
    }
    if (checked instanceof Promise) {
      checked.then(
        (value) => listener.allowed(value),
        (error: ProxyError) => listener.refused(error),
      );
    } else {
      listener.allowed(checked);
    }
  };
}

/**
 * The decision label of a failed request, for logs and metrics.
 *
 * @param error why the request failed
 * @returns `deny`, `invalid`, `unresolved`, or `allow` (allowed, then failed on the way)
 */
export function decisionOf(error: ProxyError): string {
  if (error.code === 'DENIED' || error.code === 'SELF') return 'deny';
  if (error.code === 'BAD_REQUEST') return 'invalid';
  if (error.code === 'NAME_NOT_RESOLVED') return 'unresolved';
  return 'allow';
}
