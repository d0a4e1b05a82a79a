import { chooseListSource, type DestinationFileRead } from '../destination-parser/list-source.js';
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
export function loadPolicy(env: PolicyEnv, fileText?: DestinationFileRead): LoadedPolicy {
  const source = chooseListSource(
    'EGRESS_HTTP_PROXY_DESTINATION',
    env.EGRESS_HTTP_PROXY_DESTINATION,
    env.EGRESS_HTTP_PROXY_DESTINATION_FILE,
    fileText,
  );
  if (!source.ok) {
    const message =
      source.problem === 'both-set'
        ? source.message
        : `No EGRESS_HTTP_PROXY_DESTINATION specified: ${source.message}`;
    return { ok: false, errors: [{ code: 'POLICY_UNSPECIFIED', message }] };
  }
  const text = source.text;
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
