import { type CompiledPolicy, compilePolicy } from './policy/compile-policy.js';
import { describeMatch, type Policy, type PolicyError, parsePolicy } from './policy/parse-policy.js';

/** The variables the HTTP proxy's policy comes from. */
export interface PolicyEnv {
  readonly EGRESS_HTTP_PROXY_DESTINATION?: string | undefined;
  readonly EGRESS_HTTP_PROXY_DESTINATION_FILE?: string | undefined;
}

export type LoadedPolicy =
  | { readonly ok: true; readonly compiled: CompiledPolicy; readonly text: string }
  | { readonly ok: false; readonly errors: PolicyError[] };

/**
 * Parses and compiles the policy text of EGRESS_HTTP_PROXY_DESTINATION or of the file named by
 * EGRESS_HTTP_PROXY_DESTINATION_FILE (read by the caller). Pure.
 *
 * @param env the variables
 * @param fileText what the caller read from the file: its text, or the reason it could not
 * @returns the compiled policy and its text, or every error
 */
export function loadPolicy(env: PolicyEnv, fileText?: { text: string } | { error: string }): LoadedPolicy {
  const inline = env.EGRESS_HTTP_PROXY_DESTINATION;
  const path = env.EGRESS_HTTP_PROXY_DESTINATION_FILE;
  if (inline && path) {
    return {
      ok: false,
      errors: [
        {
          code: 'POLICY_UNSPECIFIED',
          message:
            'EGRESS_HTTP_PROXY_DESTINATION and EGRESS_HTTP_PROXY_DESTINATION_FILE are both set, use one',
        },
      ],
    };
  }
  let text = inline;
  if (path) {
    if (!fileText || 'error' in fileText) {
      const reason = fileText && 'error' in fileText ? fileText.error : 'not read';
      return {
        ok: false,
        errors: [
          {
            code: 'POLICY_UNSPECIFIED',
            message: `No EGRESS_HTTP_PROXY_DESTINATION specified: cannot read EGRESS_HTTP_PROXY_DESTINATION_FILE '${path}': ${reason}`,
          },
        ],
      };
    }
    text = fileText.text;
  }
  const parsed = parsePolicy(text);
  if (!parsed.ok) return parsed;
  return { ok: true, compiled: compilePolicy(parsed.value), text: text ?? '' };
}

/**
 * The compiled rules in order, one per line, as `http-proxy --check` prints them.
 *
 * @param policy a parsed policy
 * @returns the lines
 */
export function describePolicy(policy: Policy): string[] {
  const lines = policy.rules.map(
    (rule) =>
      `${String(rule.index).padStart(5)}  ${rule.action.padEnd(5)}  ${rule.match.kind.padEnd(7)}  ${describeMatch(rule.match)}  (line ${rule.line})`,
  );
  lines.push(
    policy.allowRest
      ? `    *  allow  rest     everything no rule decided  (line ${policy.wildcardLine})`
      : '    -  deny   rest     everything no rule decided (no final *)',
  );
  return lines;
}
