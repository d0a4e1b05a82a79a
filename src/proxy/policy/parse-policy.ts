import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { listLines } from '../../destination-parser/list-lines.js';
import { type NumericIp, numericIpToString, toNumericIp } from './ip.js';

/** What a rule matches. */
export type RuleMatch =
  | { readonly kind: 'address'; readonly network: NumericIp; readonly prefix: number }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'domain'; readonly domain: string };

/** One rule of EGRESS_HTTP_PROXY_DESTINATION, in order. */
export interface PolicyRule {
  /** 1-based position among the rules (comments and blank lines not counted). */
  readonly index: number;
  /** 1-based line in the text. */
  readonly line: number;
  /** The line as written (trimmed). */
  readonly text: string;
  readonly action: 'allow' | 'deny';
  readonly match: RuleMatch;
}

/** A parsed policy: the rules in order and whether a final `*` allows the rest. */
export interface Policy {
  readonly rules: readonly PolicyRule[];
  /** The final `*`: allow whatever no rule decided. Without it, the rest is denied. */
  readonly allowRest: boolean;
  /** The line of the final `*`, if any. */
  readonly wildcardLine?: number;
}

/** A policy error in the old image's exact text. */
export interface PolicyError {
  readonly code: 'POLICY_UNSPECIFIED' | 'WILDCARD_NOT_LAST' | 'BAD_DESTINATION';
  readonly message: string;
  readonly line?: number;
}

export type PolicyResult =
  | { readonly ok: true; readonly value: Policy }
  | { readonly ok: false; readonly errors: PolicyError[] };

/**
 * Parses EGRESS_HTTP_PROXY_DESTINATION: one rule per line (an address, a CIDR range, a host name,
 * `*.domain`, each optionally preceded by `!` to deny), blank and `#` lines ignored, and `*` only as
 * the last rule. Every problem is collected with its line; the runtime prints the first.
 *
 * @param text the policy text
 * @returns the policy, or every error in the old image's exact texts
 * @example parsePolicy('!*.bad.example.com\n*.example.com\n192.168.0.0/16')
 */
export function parsePolicy(text: string | undefined): PolicyResult {
  if (text === undefined || text === '') {
    return {
      ok: false,
      errors: [{ code: 'POLICY_UNSPECIFIED', message: 'No EGRESS_HTTP_PROXY_DESTINATION specified' }],
    };
  }
  const rules: PolicyRule[] = [];
  const errors: PolicyError[] = [];
  let wildcardLine: number | undefined;
  for (const { number: line, text: written } of listLines(text)) {
    if (written === '*') {
      // The old image accepted a repeated final `*` (nothing but `*` after it), so do we.
      wildcardLine ??= line;
      continue;
    }
    if (wildcardLine !== undefined) {
      errors.push({ code: 'WILDCARD_NOT_LAST', message: 'Wildcard must be last rule, if present', line });
      continue;
    }
    const deny = written.startsWith('!');
    const destination = deny ? written.slice(1) : written;
    const match = parseMatch(destination);
    if (!match) {
      errors.push({ code: 'BAD_DESTINATION', message: `Bad destination '${destination}'`, line });
      continue;
    }
    rules.push({ index: rules.length + 1, line, text: written, action: deny ? 'deny' : 'allow', match });
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      rules,
      allowRest: wildcardLine !== undefined,
      ...(wildcardLine !== undefined && { wildcardLine }),
    },
  };
}

/**
 * Parses the destination of one rule: `IP`, `IP/prefix`, `*.domain` or a host name.
 *
 * @param destination the rule without its `!`
 * @returns what it matches, or undefined when it is none of these
 */
export function parseMatch(destination: string): RuleMatch | undefined {
  const slash = destination.indexOf('/');
  const addressText = slash === -1 ? destination : destination.slice(0, slash);
  if (isIPv4(addressText) || (isIPv6(addressText) && !addressText.includes('%'))) {
    const ip = toNumericIp(addressText);
    if (!ip) return undefined;
    // An IPv4-mapped IPv6 rule is the IPv4 rule it maps; its prefix counts from the mapped part.
    const mapped = ip.family === 4 && isIPv6(addressText);
    const max = ip.family === 4 ? 32 : 128;
    let prefix = max;
    if (slash !== -1) {
      const prefixText = destination.slice(slash + 1);
      if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
      prefix = Number(prefixText) - (mapped ? 96 : 0);
      if (prefix < 0 || prefix > max || (mapped && Number(prefixText) < 96)) return undefined;
    }
    return { kind: 'address', network: maskIp(ip, prefix), prefix };
  }
  if (slash !== -1) return undefined;
  if (destination.startsWith('*.')) {
    const domain = normalizeName(destination.slice(2));
    return domain ? { kind: 'domain', domain } : undefined;
  }
  const name = normalizeName(destination);
  return name ? { kind: 'name', name } : undefined;
}

/**
 * The canonical form of a host name for matching: ASCII (IDNA), lower case, one trailing dot
 * removed; undefined when it is not a valid DNS name or would be read as an IPv4 number.
 *
 * @param text a host name as written
 * @returns the canonical name, or undefined
 */
export function normalizeName(text: string): string | undefined {
  const withoutDot = text.endsWith('.') ? text.slice(0, -1) : text;
  if (withoutDot === '' || /[\s/\\@:[\]%?#*!]/.test(withoutDot)) return undefined;
  const ascii = domainToASCII(withoutDot).toLowerCase();
  if (ascii === '' || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  for (const label of labels) {
    if (!/^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)) return undefined;
  }
  // A name whose last label is a number is an IPv4 address to URL parsers and resolvers.
  if (/^(0x[0-9a-f]*|[0-9]+)$/.test(labels.at(-1)!)) return undefined;
  return ascii;
}

/** The network of an address with a prefix (host bits cleared). */
export function maskIp(ip: NumericIp, prefix: number): NumericIp {
  if (ip.family === 4) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return { family: 4, value: (ip.value & mask) >>> 0 };
  }
  const mask = prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
  return { family: 6, value: ip.value & mask };
}

/** A rule's match as text, canonical (`--check` prints it). */
export function describeMatch(match: RuleMatch): string {
  switch (match.kind) {
    case 'address':
      return `${numericIpToString(match.network)}/${match.prefix}`;
    case 'name':
      return match.name;
    case 'domain':
      return `*.${match.domain}`;
  }
}
