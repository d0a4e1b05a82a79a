import { type LoadedPolicy, loadPolicy, type PolicyEnv } from '../proxy/load-policy.js';
import type { ProxySettings } from '../proxy/settings.js';
import { superviseWorkers } from './workers-serve.js';

/**
 * The HTTP proxy as a supervisor of `count` workers (EGRESS_HTTP_PROXY_WORKERS above 1): see
 * superviseWorkers. The supervisor follows EGRESS_HTTP_PROXY_DESTINATION_FILE and validates each
 * change once; the workers run serveHttpProxy with the supervisor's link.
 *
 * @param env the policy's variables
 * @param settings the validated settings
 * @param initial the policy loaded at start
 * @param count the number of workers
 * @throws WorkersStartError when the workers cannot start (its message is the worker's error line)
 */
export async function superviseHttpProxy(
  env: PolicyEnv,
  settings: ProxySettings,
  initial: LoadedPolicy & { ok: true },
  count: number,
): Promise<void> {
  const file = env.EGRESS_HTTP_PROXY_DESTINATION_FILE || undefined;
  await superviseWorkers({
    name: 'egress-http-proxy',
    debug: settings.debug,
    count,
    adminPort: settings.adminPort,
    drainMs: settings.drainMs,
    metricPrefix: 'egress_http_proxy',
    reloads: {
      name: 'egress_http_proxy_policy_reloads_total',
      help: 'Policy file changes by result (applied, invalid, unreadable)',
      unreadable: 'unreadable',
    },
    // Every worker runs the same policy.
    aggregation: { egress_http_proxy_policy_rules: 'max' },
    secondSignal: 'kill',
    list: {
      text: initial.text,
      file,
      check(text) {
        const next = loadPolicy(env, { text });
        if (next.ok) return { ok: true, line: [{ file }, 'valid policy, sent to the workers'] };
        const first = next.errors[0]!;
        return {
          ok: false,
          line: [
            { file, line: first.line, error: first.message },
            'new policy is invalid; the running policy stays',
          ],
        };
      },
      unreadable: (error) => [{ file, err: error }, 'policy file unreadable; the running policy stays'],
      failed: (errors) => [{ file, errors }, 'a worker did not apply the policy; the running policy stays'],
      applied(text) {
        const next = loadPolicy(env, { text });
        const rules = next.ok ? next.compiled.rules.length : undefined;
        return [
          { file, rules, allowRest: next.ok ? next.compiled.policy.allowRest : undefined },
          'policy reloaded in every worker',
        ];
      },
    },
  });
}
