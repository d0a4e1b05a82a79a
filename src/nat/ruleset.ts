import type { Family } from '../destination-parser/address.js';
import type { Protocol } from '../destination-parser/destination-list.js';
import type { NatPlan } from '../destination-parser/plan.js';

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

/**
 * Builds the whole ruleset as one nft JSON transaction that atomically replaces our own table (and
 * only it): add-then-delete the table (so the delete never fails), then declare it anew.
 *
 * Port mappings live in verdict-free maps keyed by local port (one lookup per packet whatever the
 * length of the list); the fallback DNATs the rest; SNAT rewrites everything leaving the egress
 * interface; without a fallback, unmapped TCP/UDP from the pod interface is refused at once.
 *
 * @param plan the NAT plan from planRouter
 * @returns the nft JSON document
 */
export function buildRuleset(plan: NatPlan): NftDocument {
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

function match(left: unknown, right: unknown) {
  return { match: { op: '==', left, right } };
}
