import type { EgressNetworkPolicyObject } from '../cluster/types.js';
import { parseIp } from '../destination-parser/address.js';
import { type IpRange, parseCanonicalCidr } from './ip-range.js';

/**
 * How many rules one policy may have. OpenShift's API allowed 50 (`EgressNetworkPolicyMaxRules`);
 * OVN-Kubernetes allows 8,000. Ours: 10,000, since a rule costs nothing per packet here (the rules
 * are compiled into one interval map lookup) and admins who mirror a provider's published ranges
 * need thousands. A policy over it is refused with the API's message and this number.
 */
export const MAX_EGRESS_RULES = 10_000;

/** A DNS-1123 subdomain: what `dnsName` must be (Kubernetes' IsDNS1123Subdomain). */
const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const DNS1123_SUBDOMAIN_MAX = 253;

/** One validated rule, in its policy's order. */
export interface EgressRule {
  /** Its position in spec.egress. */
  readonly index: number;
  readonly type: 'Allow' | 'Deny';
  readonly to:
    | { readonly kind: 'cidr'; readonly cidr: string; readonly range: IpRange }
    | { readonly kind: 'dns'; readonly name: string };
}

/** One problem of a policy, as the OpenShift API server worded it. */
export interface PolicyError {
  /** The field, `spec.egress[2].to.cidrSelector`. */
  readonly field: string;
  /** The whole line, as `oc create` printed it: `spec.egress[0].type: Invalid value: "Foo": invalid policy type`. */
  readonly message: string;
}

export type ValidatePolicyResult =
  | { readonly ok: true; readonly rules: readonly EgressRule[] }
  | { readonly ok: false; readonly errors: readonly PolicyError[] };

/**
 * Validates an EgressNetworkPolicy's rules with the OpenShift 3.x API server's checks and messages
 * (field paths and texts as `oc create` printed them), collecting every problem. Pure.
 *
 * @param policy the object as read
 * @param maxRules the most rules a policy may have
 * @returns the typed rules in order, or every problem
 */
export function validatePolicy(
  policy: EgressNetworkPolicyObject,
  maxRules = MAX_EGRESS_RULES,
): ValidatePolicyResult {
  const errors: PolicyError[] = [];
  const invalid = (field: string, value: string, detail: string) =>
    errors.push({ field, message: `${field}: Invalid value: ${value}: ${detail}` });
  const egress = policy.egress;
  if (!Array.isArray(egress)) {
    errors.push({ field: 'spec.egress', message: 'spec.egress: Required value' });
    return { ok: false, errors };
  }
  const rules: EgressRule[] = [];
  egress.forEach((raw: unknown, index) => {
    const base = `spec.egress[${index}]`;
    const rule = isRecord(raw) ? raw : {};
    const type = rule.type;
    const typeOk = type === 'Allow' || type === 'Deny';
    if (!typeOk) invalid(`${base}.type`, goString(type), 'invalid policy type');
    const to = isRecord(rule.to) ? rule.to : {};
    const cidr = typeof to.cidrSelector === 'string' ? to.cidrSelector : '';
    const dns = typeof to.dnsName === 'string' ? to.dnsName : '';
    const peer = `network.EgressNetworkPolicyPeer{CIDRSelector:${JSON.stringify(cidr)}, DNSName:${JSON.stringify(dns)}}`;
    if (cidr === '' && dns === '') invalid(`${base}.to`, peer, 'must specify cidrSelector or dnsName');
    else if (cidr !== '' && dns !== '')
      invalid(`${base}.to`, peer, 'either specify cidrSelector or dnsName but not both');
    let target: EgressRule['to'] | undefined;
    if (cidr !== '') {
      const parsed = parseCanonicalCidr(cidr);
      if (parsed.ok) target = { kind: 'cidr', cidr: parsed.text, range: parsed.range };
      else if (parsed.reason === 'invalid')
        invalid(`${base}.to.cidrSelector`, JSON.stringify(cidr), `invalid CIDR address: ${cidr}`);
      else {
        // Go prints the address with ip.String(): its canonical text (lower case, zeros compressed).
        const written = cidr.slice(0, cidr.indexOf('/'));
        const host = `${parseIp(written)?.address ?? written}/${cidr.includes(':') ? 128 : 32}`;
        invalid(
          `${base}.to.cidrSelector`,
          JSON.stringify(cidr),
          `CIDR network specification ${JSON.stringify(cidr)} is not in canonical form (should be ${parsed.canonical} or ${host}?)`,
        );
      }
    }
    if (dns !== '') {
      if (isDns1123Subdomain(dns)) target = { kind: 'dns', name: dns };
      else
        invalid(`${base}.to.dnsName`, JSON.stringify(dns), 'must conform to DNS 952 subdomain conventions');
    }
    if (typeOk && target !== undefined && (cidr === '') !== (dns === ''))
      rules.push({ index, type, to: target });
  });
  if (egress.length > maxRules) invalid('spec.egress', '""', `too many egress rules (max ${maxRules})`);
  // The API server's aggregate drops errors whose text repeats.
  const unique = errors.filter((e, i) => errors.findIndex((o) => o.message === e.message) === i);
  return unique.length > 0 ? { ok: false, errors: unique } : { ok: true, rules };
}

/**
 * Whether a name is a DNS-1123 subdomain (Kubernetes' IsDNS1123Subdomain): lower-case labels of
 * letters, digits and `-`, at most 253 characters, no trailing dot. Pure.
 *
 * @param name the name as written
 */
export function isDns1123Subdomain(name: string): boolean {
  return name.length <= DNS1123_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(name);
}

/** A value as Go's `%#v` prints a string-typed field: quoted; a value of another type as JSON. */
function goString(value: unknown): string {
  if (value === undefined || value === null) return '""';
  return JSON.stringify(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
