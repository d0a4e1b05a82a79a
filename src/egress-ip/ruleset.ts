/**
 * The egress IP rules of one node, as sets and chains of the agent's table (built with the
 * firewall's, so one transaction changes both). Pure. What they do (docs/egress-ips.md):
 *
 * ```
 * egress-pre (hook prerouting, priority mangle)
 *   ip saddr @cluster4 ip daddr != @internal4 ip saddr vmap @egress-route4   this node's pods whose IP is elsewhere: jump egress-to-<n>
 * egress-to-<n> (one per hosting node)
 *   meta mark set meta mark & ~MARK_MASK | <that node's mark>                 our bits only; other bits of the mark are kept
 * egress-post (nat, hook postrouting, priority srcnat: before the node's masquerade)
 *   ip saddr @cluster4 ip daddr != @internal4 snat ip to ip saddr map @egress-snat4     every pod (any node) of a namespace hosted here
 * egress-forward (hook forward, priority filter)
 *   ip saddr @egress-dropped4 ip daddr != @internal4 counter drop                        namespaces whose egress IP no node hosts
 * egress-input (hook input, priority filter)
 *   ip daddr @egress-ips4 ct state new counter reject                                     no new connection to an egress IP
 * ```
 * and the same for IPv6.
 */
import type { Family } from '../destination-parser/address.js';
import { addressRange } from '../firewall/ip-range.js';
import type { DesiredChain, DesiredElement, DesiredSet, Verdict } from '../firewall/ruleset.js';
import { ipToBytes } from '../network/encoding.js';
import type { EgressIpPlan } from './plan.js';

/** The marks that route to a hosting node: `MARK_BASE | index << 16`, under MARK_MASK. */
export const MARK_BASE = 0x10000000;
export const MARK_MASK = 0x1fff0000;

/** The mark of the node with this overlay index (1..4095, overlay-plan.ts). */
export function markOf(index: number): number {
  if (!Number.isInteger(index) || index < 1 || index > 0xfff)
    throw new RangeError(`node index out of range: ${index}`);
  return (MARK_BASE | (index << 16)) >>> 0;
}

const FAMILIES: readonly Family[] = [4, 6];
const PROTOCOL: Record<Family, 'ip' | 'ip6'> = { 4: 'ip', 6: 'ip6' };

/** Names in the table. */
export const egressNames = {
  route: (f: Family) => `egress-route${f}`,
  /** The chain that marks for the hosting node of this mark (its overlay index, in hex). */
  toHost: (mark: number) => `egress-to-${((mark >>> 16) & 0xfff).toString(16)}`,
  snat: (f: Family) => `egress-snat${f}`,
  dropped: (f: Family) => `egress-dropped${f}`,
  ips: (f: Family) => `egress-ips${f}`,
};

/**
 * The egress IP sets and chains of a node.
 *
 * @param plan this node's egress IP plan
 * @param markOfHost each hosting node's hostIP → its mark (markOf); a remote pod whose host has none is left out
 * @param sets the firewall's set names this refers to: `cluster<f>` and `internal<f>`
 * @returns sets and chains to add to the firewall's table
 */
export function buildEgressIpRules(
  plan: EgressIpPlan,
  markOfHost: ReadonlyMap<string, number>,
  sets: { cluster: (f: Family) => string; internal: (f: Family) => string },
): { sets: Map<string, DesiredSet>; chains: Map<string, DesiredChain> } {
  const out = new Map<string, DesiredSet>();
  const pre: unknown[][] = [];
  const post: unknown[][] = [];
  const forward: unknown[][] = [];
  const input: unknown[][] = [];
  const toHost = new Map<string, DesiredChain>();
  for (const family of FAMILIES) {
    const protocol = PROTOCOL[family];
    const type = family === 4 ? 'ipv4_addr' : 'ipv6_addr';
    const ofFamily = (ip: string) => ip.includes(':') === (family === 6);
    const routes = new Map<string, DesiredElement>();
    for (const [pod, host] of plan.remote) {
      const mark = markOfHost.get(host);
      if (!ofFamily(pod) || mark === undefined) continue;
      const chain = egressNames.toHost(mark);
      if (!toHost.has(chain)) toHost.set(chain, { rules: [[setOurBits(mark)]] });
      routes.set(pod, element(pod, undefined, { jump: { target: chain } }));
    }
    const snat = new Map<string, DesiredElement>();
    for (const hosted of plan.hosted) {
      if (!ofFamily(hosted.ip)) continue;
      for (const source of hosted.sources) {
        if (ofFamily(source))
          snat.set(source, element(source, { bytes: ipToBytes(hosted.ip), text: hosted.ip }));
      }
    }
    const dropped = new Map([...plan.dropped].filter(ofFamily).map((ip) => [ip, element(ip)]));
    const ips = new Map(plan.hosted.filter((h) => ofFamily(h.ip)).map((h) => [h.ip, element(h.ip)]));
    out.set(egressNames.route(family), {
      kind: 'map',
      type,
      interval: false,
      counter: false,
      elements: routes,
    });
    out.set(egressNames.snat(family), {
      kind: 'map',
      type,
      dataType: type,
      interval: false,
      counter: false,
      elements: snat,
    });
    out.set(egressNames.dropped(family), {
      kind: 'set',
      type,
      interval: false,
      counter: false,
      elements: dropped,
    });
    out.set(egressNames.ips(family), { kind: 'set', type, interval: false, counter: false, elements: ips });
    const external = [
      match(protocol, 'saddr', '==', `@${sets.cluster(family)}`),
      match(protocol, 'daddr', '!=', `@${sets.internal(family)}`),
    ];
    const bySource = (map: string) => ({ map: { key: payload(protocol, 'saddr'), data: `@${map}` } });
    pre.push([
      ...external,
      { vmap: { key: payload(protocol, 'saddr'), data: `@${egressNames.route(family)}` } },
    ]);
    post.push([...external, { snat: { family: protocol, addr: bySource(egressNames.snat(family)) } }]);
    forward.push([
      match(protocol, 'saddr', '==', `@${egressNames.dropped(family)}`),
      match(protocol, 'daddr', '!=', `@${sets.internal(family)}`),
      { counter: null },
      { drop: null },
    ]);
    input.push([
      match(protocol, 'daddr', '==', `@${egressNames.ips(family)}`),
      { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } },
      { counter: null },
      { reject: null },
    ]);
  }
  const chains = new Map<string, DesiredChain>([
    [
      'egress-pre',
      { base: { type: 'filter', hook: 'prerouting', prio: -150, policy: 'accept' }, rules: pre },
    ],
    ['egress-post', { base: { type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' }, rules: post }],
    [
      'egress-forward',
      { base: { type: 'filter', hook: 'forward', prio: 0, policy: 'accept' }, rules: forward },
    ],
    ['egress-input', { base: { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }, rules: input }],
    ...[...toHost].sort(([a], [b]) => (a < b ? -1 : 1)),
  ]);
  return { sets: out, chains };
}

function element(ip: string, value?: DesiredElement['value'], verdict?: Verdict): DesiredElement {
  const range = addressRange(ip);
  if (!range) throw new RangeError(`not an address: ${ip}`);
  return { key: ip, range, ...(value ? { value } : {}), ...(verdict ? { verdict } : {}) };
}

/**
 * `meta mark set meta mark & ~MARK_MASK | mark`: our bits set, the others (kube-proxy's, a CNI's)
 * kept. nft 1.0.6 cannot OR a map's value into the mark, hence a chain per hosting node.
 */
function setOurBits(mark: number): unknown {
  const kept = { '&': [{ meta: { key: 'mark' } }, ~MARK_MASK >>> 0] };
  return { mangle: { key: { meta: { key: 'mark' } }, value: { '|': [kept, mark] } } };
}

function payload(protocol: 'ip' | 'ip6', field: 'saddr' | 'daddr') {
  return { payload: { protocol, field } };
}

function match(protocol: 'ip' | 'ip6', field: 'saddr' | 'daddr', op: '==' | '!=', right: string) {
  return { match: { op, left: payload(protocol, field), right } };
}
