import type { Family } from '../destination-parser/address.js';
import type { Protocol } from '../destination-parser/destination-list.js';
import type { NameTarget, NatPlan } from '../destination-parser/plan.js';
import { NAME_SLOTS, slotAddresses } from './name-slots.js';

/** The one table the router owns; nothing outside it is ever touched. */
export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'egress_router';

/** Chain priorities as numbers (the JSON parser of nft 1.0 does not take the names). */
const PRIORITY = { dstnat: -100, filter: 0, srcnat: 100 } as const;

/** One command of an nft JSON batch (libnftables-json(5)). */
export type NftCommand = Record<string, unknown>;

/** An nft JSON document: `nft -j -f -` applies it as one transaction. */
export interface NftDocument {
  readonly nftables: NftCommand[];
}

/**
 * The names of the two maps of one family's mappings of one protocol: local port to destination
 * address, and local port to destination port. (nft 1.0's JSON parser has no concatenated map
 * values, so address and port are two lookups of the same key; both constant time.)
 */
export function mapNames(family: Family, protocol: Protocol): { addr: string; port: string } {
  return { addr: `dnat${family}_${protocol}_addr`, port: `dnat${family}_${protocol}_port` };
}

/**
 * The same table as a replacement document from buildRuleset, as a *creation* instead: `create
 * table` (which fails, changing nothing, when the table exists) and the contents, without the
 * add-and-delete. Removing anything from nf_tables makes the kernel wait for an RCU grace period
 * (~12 ms of a ~20 ms transaction here); a fresh pod has nothing to remove.
 *
 * @param document a document from buildRuleset
 * @returns the creation document, or undefined when `document` does not start by replacing our table
 */
export function asCreation(document: NftDocument): NftDocument | undefined {
  const [addFirst, remove, addAgain, ...rest] = document.nftables;
  const isOurs = (command: NftCommand | undefined, verb: string) => {
    const table = (command?.[verb] as { table?: { family?: string; name?: string } } | undefined)?.table;
    return (
      command !== undefined &&
      Object.keys(command).length === 1 &&
      table?.family === TABLE_FAMILY &&
      table.name === TABLE_NAME
    );
  };
  if (!isOurs(addFirst, 'add') || !isOurs(remove, 'delete') || !isOurs(addAgain, 'add')) return undefined;
  return { nftables: [{ create: addAgain!.add as NftCommand }, ...rest] };
}

/** The addresses each name map holds now, by map name (a map not named here is empty). */
export type NameAddresses = ReadonlyMap<string, readonly string[]>;

/**
 * Builds the whole ruleset as one nft JSON transaction that atomically replaces our own table (and
 * only it): add-then-delete the table (so the delete never fails), then declare it anew.
 *
 * Port mappings live in verdict-free maps keyed by local port (one lookup per packet whatever the
 * length of the list); the fallback DNATs the rest; SNAT rewrites everything leaving the egress
 * interface; without a fallback, unmapped TCP/UDP from the pod interface is refused at once.
 *
 * A name entry has a map of its own, slot to address (see name-slots.ts); its rule gives each new
 * connection the next slot (`ct mark set numgen inc mod 60`: the connection's conntrack mark,
 * which never leaves the pod's namespace) and DNATs to that slot's address. A name with no address
 * has an empty map: the lookup fails, the rule does not apply, and the port is refused (its packets
 * are kept from the fallback and reach the input chain's reset).
 *
 * @param plan the NAT plan from planRouter
 * @param names the addresses of each name map, for a table that keeps what the names resolved to
 *   (a reload); default none
 * @returns the nft JSON document
 */
export function buildRuleset(plan: NatPlan, names: NameAddresses = new Map()): NftDocument {
  const table = { family: TABLE_FAMILY, name: TABLE_NAME };
  const at = { family: TABLE_FAMILY, table: TABLE_NAME };
  const commands: NftCommand[] = [{ add: { table } }, { delete: { table } }, { add: { table } }];

  for (const { family, protocol, mappings } of mapGroups(plan)) {
    const names = mapNames(family, protocol);
    const map = (name: string, valueType: string, elem: unknown[]) => ({
      add: { map: { ...at, name, type: 'inet_service', map: valueType, elem } },
    });
    commands.push(
      map(
        names.addr,
        family === 4 ? 'ipv4_addr' : 'ipv6_addr',
        mappings.map((m) => [m.localPort, m.destination.address]),
      ),
      map(
        names.port,
        'inet_service',
        mappings.map((m) => [m.localPort, m.remotePort]),
      ),
    );
  }

  for (const target of plan.names) {
    const elem = slotAddresses(names.get(target.map) ?? []).map((address, slot) => [slot, address]);
    commands.push({
      add: {
        map: {
          ...at,
          name: target.map,
          type: 'mark',
          map: target.family === 4 ? 'ipv4_addr' : 'ipv6_addr',
          ...(elem.length > 0 ? { elem } : {}),
        },
      },
    });
  }

  const chain = (name: string, type: string, hook: string, prio: number) => ({
    add: { chain: { ...at, name, type, hook, prio, policy: 'accept' } },
  });
  const rule = (chainName: string, expr: unknown[]) => ({ add: { rule: { ...at, chain: chainName, expr } } });
  const fromPod = match({ meta: { key: 'iifname' } }, plan.podInterface);
  const toEgress = match({ meta: { key: 'oifname' } }, plan.egressInterface);
  const nfproto = (family: Family) => match({ meta: { key: 'nfproto' } }, family === 4 ? 'ipv4' : 'ipv6');
  const natFamily = (family: Family) => (family === 4 ? 'ip' : 'ip6');

  commands.push(chain('prerouting', 'nat', 'prerouting', PRIORITY.dstnat));
  for (const { family, protocol } of mapGroups(plan)) {
    const names = mapNames(family, protocol);
    const byPort = (data: string) => ({
      map: { key: { payload: { protocol, field: 'dport' } }, data: `@${data}` },
    });
    commands.push(
      rule('prerouting', [
        fromPod,
        nfproto(family),
        match({ meta: { key: 'l4proto' } }, protocol),
        { dnat: { family: natFamily(family), addr: byPort(names.addr), port: byPort(names.port) } },
      ]),
    );
  }
  const l4 = (protocol: Protocol) => match({ meta: { key: 'l4proto' } }, protocol);
  const dport = (protocol: Protocol, right: unknown) =>
    match({ payload: { protocol, field: 'dport' } }, right);
  const spread = (target: NameTarget) => [
    { mangle: { key: { ct: { key: 'mark' } }, value: { numgen: { mode: 'inc', mod: NAME_SLOTS } } } },
    {
      dnat: {
        family: natFamily(target.family),
        addr: { map: { key: { ct: { key: 'mark' } }, data: `@${target.map}` } },
        ...(target.kind === 'mapping' ? { port: target.remotePort } : {}),
      },
    },
  ];
  for (const target of plan.names) {
    if (target.kind !== 'mapping') continue;
    commands.push(
      rule('prerouting', [
        fromPod,
        nfproto(target.family),
        l4(target.protocol),
        dport(target.protocol, target.localPort),
        ...spread(target),
      ]),
    );
  }
  for (const { family, protocol, ports } of namePortGroups(plan)) {
    // A name without an address: its port must not fall through to the fallback.
    if (!hasFallback(plan, family)) continue;
    commands.push(
      rule('prerouting', [
        fromPod,
        nfproto(family),
        l4(protocol),
        dport(protocol, ports.length === 1 ? ports[0] : { set: ports }),
        { accept: null },
      ]),
    );
  }
  for (const fallback of plan.fallbacks) {
    const family = fallback.destination.family;
    commands.push(
      rule('prerouting', [
        fromPod,
        nfproto(family),
        { dnat: { family: natFamily(family), addr: fallback.destination.address } },
      ]),
    );
  }

  for (const target of plan.names) {
    if (target.kind !== 'fallback') continue;
    commands.push(rule('prerouting', [fromPod, nfproto(target.family), ...spread(target)]));
  }

  commands.push(chain('postrouting', 'nat', 'postrouting', PRIORITY.srcnat));
  for (const source of plan.snat) {
    commands.push(
      rule('postrouting', [
        toEgress,
        nfproto(source.family),
        { snat: { family: natFamily(source.family), addr: source.address } },
      ]),
    );
  }

  if (plan.refuse.length > 0) {
    commands.push(chain('input', 'filter', 'input', PRIORITY.filter));
    commands.push(
      rule('input', [
        { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
        { accept: null },
      ]),
    );
    for (const family of plan.refuse) {
      commands.push(
        rule('input', [
          fromPod,
          nfproto(family),
          match({ meta: { key: 'l4proto' } }, 'tcp'),
          { reject: { type: 'tcp reset' } },
        ]),
      );
      commands.push(
        rule('input', [
          fromPod,
          nfproto(family),
          match({ meta: { key: 'l4proto' } }, 'udp'),
          { reject: { type: 'icmpx', expr: 'port-unreachable' } },
        ]),
      );
    }
  }
  return { nftables: commands };
}

/** The non-empty (family, protocol) groups of mappings, IPv4 first, TCP before UDP. */
export function mapGroups(plan: NatPlan) {
  const groups = [];
  for (const family of [4, 6] as const) {
    for (const protocol of ['tcp', 'udp'] as const) {
      const mappings = plan.mappings.filter(
        (m) => m.destination.family === family && m.protocol === protocol,
      );
      if (mappings.length > 0) groups.push({ family, protocol, mappings });
    }
  }
  return groups;
}

/**
 * The local ports of the name mappings, by family and protocol (IPv4 first, TCP before UDP), sorted.
 *
 * @param plan the NAT plan
 * @returns the non-empty groups
 */
export function namePortGroups(plan: NatPlan) {
  const groups = [];
  for (const family of [4, 6] as const) {
    for (const protocol of ['tcp', 'udp'] as const) {
      const ports = plan.names
        .flatMap((n) =>
          n.kind === 'mapping' && n.family === family && n.protocol === protocol ? [n.localPort] : [],
        )
        .sort((a, b) => a - b);
      if (ports.length > 0) groups.push({ family, protocol, ports });
    }
  }
  return groups;
}

/**
 * Whether a family has a fallback, an address or a name.
 *
 * @param plan the NAT plan
 * @param family the family
 */
export function hasFallback(plan: NatPlan, family: Family): boolean {
  return (
    plan.fallbacks.some((f) => f.destination.family === family) ||
    plan.names.some((n) => n.kind === 'fallback' && n.family === family)
  );
}

function match(left: unknown, right: unknown) {
  return { match: { op: '==', left, right } };
}
