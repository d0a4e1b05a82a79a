/**
 * Test support, not part of the API: runs one operation of this module in the network namespace the
 * process is in and prints `{ ok, value | error }` as JSON on stdout. The namespace tests spawn it as
 * `ip netns exec NS node _netns-fixture.js OP JSON`, so that the netlink socket talks to the throwaway
 * namespace and never to the host's. It never calls process.exit: that it ends at all proves that a
 * closed handle does not keep the event loop alive.
 */
import { type Cidr, type Family, parseCidr } from '../destination-parser/address.js';
import { ensureAddress, listAddresses } from './addresses.js';
import { NetworkError } from './errors.js';
import { type NetlinkHandle, openNetlink, withNetlink } from './handle.js';
import { createMacvlan, deleteLink, type MacvlanMode, moveLinkToNetns } from './lab.js';
import { linkByName, listLinks, reannounceLink, setLinkUp, waitForOperUp } from './links.js';
import { openElementSender } from './nft-batch.js';
import type { ElementOp } from './nft-elements.js';
import { listTableShape, type NftFamily, nftGeneration, nftTableExists } from './nftables.js';
import {
  deleteRule,
  deleteTunnelRoute,
  ensureRule,
  ensureVxlan,
  listRules,
  type RuleSpec,
  removeAddress,
  replaceNeighbour,
  replaceTunnelRoute,
  type TunnelRouteSpec,
} from './overlay.js';
import { listRoutes, replaceRoute } from './routes.js';
import { readForwarding, readSysctl, setForwarding, writeSysctl } from './sysctl.js';

/** What the fixture prints. */
export type FixtureOutput<T = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: { name: string; code?: string; message: string; cause?: string } };

type Input = Record<string, unknown>;

function cidr(text: unknown): Cidr {
  if (text === '0.0.0.0/0') return { address: '0.0.0.0', family: 4, prefix: 0 };
  if (text === '::/0') return { address: '::', family: 6, prefix: 0 };
  const parsed = parseCidr(String(text));
  if (parsed === undefined) throw new TypeError(`not a CIDR: ${String(text)}`);
  return parsed;
}

/** `input.ifindex` when given (to reach an index that does not exist), else the index of `ifname`. */
async function index(handle: NetlinkHandle, ifname: unknown, ifindex?: unknown): Promise<number> {
  if (typeof ifindex === 'number') return ifindex;
  return (await linkByName(handle, String(ifname))).index;
}

/** A rule from JSON: `to` as CIDR text. */
function ruleOf(input: Input): RuleSpec {
  const { to, ...rest } = input as unknown as Omit<RuleSpec, 'to'> & { to?: string };
  return { ...rest, ...(to ? { to: cidr(to) } : {}) };
}

const operations: Record<string, (input: Input) => Promise<unknown>> = {
  link: (input) => withNetlink((h) => linkByName(h, String(input.ifname))),

  'set-up': (input) =>
    withNetlink(async (h) => {
      await setLinkUp(h, await index(h, input.ifname, input.ifindex));
      return linkByName(h, String(input.ifname));
    }),

  'wait-oper-up': (input) =>
    withNetlink(async (h) => waitForOperUp(h, await index(h, input.ifname), Number(input.timeoutMs))),

  'ensure-address': (input) =>
    withNetlink(async (h) => ensureAddress(h, await index(h, input.ifname, input.ifindex), cidr(input.cidr))),

  'list-addresses': (input) => withNetlink(async (h) => listAddresses(h, await index(h, input.ifname))),

  'replace-routes': (input) =>
    withNetlink(async (h) => {
      const routes = input.routes as {
        destination: string;
        gateway?: string;
        ifname: string;
        ifindex?: number;
      }[];
      for (const route of routes) {
        await replaceRoute(h, {
          destination: cidr(route.destination),
          ...(route.gateway === undefined ? {} : { gateway: route.gateway }),
          ifindex: await index(h, route.ifname, route.ifindex),
        });
      }
      return listRoutes(h);
    }),

  /** `{ name, mac, port }`: the overlay's VXLAN device, set up. */
  'ensure-vxlan': (input) =>
    withNetlink(async (h) => {
      const { link, created } = await ensureVxlan(
        h,
        String(input.name),
        String(input.mac),
        Number(input.port),
      );
      await setLinkUp(h, link.index);
      return { created };
    }),

  'replace-neighbour': (input) =>
    withNetlink(async (h) =>
      replaceNeighbour(h, await index(h, input.ifname), cidr(input.address), String(input.mac)),
    ),

  'ensure-rule': (input) => withNetlink((h) => ensureRule(h, ruleOf(input))),
  'delete-rule': (input) => withNetlink((h) => deleteRule(h, ruleOf(input))),
  'list-rules': (input) => withNetlink((h) => listRules(h, input.family === 6 ? 6 : 4)),
  'replace-tunnel-route': (input) =>
    withNetlink(async (h) =>
      replaceTunnelRoute(h, {
        ...(input as unknown as TunnelRouteSpec),
        ifindex: await index(h, input.ifname),
      }),
    ),
  'delete-tunnel-route': (input) =>
    withNetlink(async (h) =>
      deleteTunnelRoute(h, {
        ...(input as unknown as TunnelRouteSpec),
        ifindex: await index(h, input.ifname),
      }),
    ),
  'remove-address': (input) =>
    withNetlink(async (h) => removeAddress(h, await index(h, input.ifname), cidr(input.cidr))),

  /** `{ table, ops: [{ ...ElementOp, start, end as strings }], atomic? }` → batches sent. */
  'nft-elements': async (input) => {
    const sender = openElementSender();
    try {
      const ops = (input.ops as Record<string, unknown>[]).map((op) =>
        op.op === 'flush'
          ? (op as unknown as ElementOp)
          : ({ ...op, start: BigInt(String(op.start)), end: BigInt(String(op.end)) } as unknown as ElementOp),
      );
      return await sender.send(String(input.table), ops, { atomic: input.atomic === true });
    } finally {
      sender.close();
    }
  },

  'nft-table-exists': (input) =>
    withNetlink((h) => nftTableExists(h, input.family as NftFamily, String(input.name)), {
      protocol: 'netfilter',
    }),

  'nft-generation': () => withNetlink((h) => nftGeneration(h), { protocol: 'netfilter' }),

  'nft-table-shape': async (input) => {
    const shape = await withNetlink((h) => listTableShape(h, input.family as NftFamily, String(input.name)), {
      protocol: 'netfilter',
    });
    return shape ? { chains: Object.fromEntries(shape.chains), sets: [...shape.sets].sort() } : null;
  },

  'list-routes': (input) => withNetlink((h) => listRoutes(h, input.family as Family | undefined)),

  forwarding: async (input) => {
    const families = input.families as Family[];
    for (const family of families) await setForwarding(family);
    return Promise.all(families.map(readForwarding));
  },

  reannounce: (input) =>
    withNetlink(async (h) => {
      const ifname = String(input.ifname);
      await writeSysctl(`net/ipv4/conf/${ifname}/arp_notify`, '1');
      await writeSysctl(`net/ipv6/conf/${ifname}/ndisc_notify`, '1');
      await reannounceLink(h, await index(h, ifname, input.ifindex));
    }),

  sysctl: async (input) => {
    await writeSysctl(String(input.key), String(input.value));
    return readSysctl(String(input.key));
  },

  macvlan: (input) =>
    withNetlink(async (h) =>
      createMacvlan(h, await index(h, input.parent), String(input.name), input.mode as MacvlanMode),
    ),

  move: (input) =>
    withNetlink(async (h) => {
      await moveLinkToNetns(h, await index(h, input.ifname), String(input.netns));
      return (await listLinks(h)).map((link) => link.name);
    }),

  delete: (input) =>
    withNetlink(async (h) => {
      await deleteLink(h, await index(h, input.ifname, input.ifindex));
      return (await listLinks(h)).map((link) => link.name);
    }),

  /** Close semantics: idempotent close, a call after close, a close while a request is in flight. */
  lifecycle: async () => {
    const handle = openNetlink();
    const before = (await listLinks(handle)).length;
    handle.close();
    handle.close();
    const afterClose = await listLinks(handle).then(
      () => 'resolved',
      (error: NetworkError) => error.code,
    );
    const second = openNetlink({ timeoutMs: 1000 });
    const inFlight = listLinks(second);
    second.close();
    const inFlightCode = await inFlight.then(
      () => 'resolved',
      (error: NetworkError) => error.code,
    );
    return { before, closed: handle.closed, afterClose, inFlight: inFlightCode };
  },
};

async function main(): Promise<FixtureOutput> {
  const [op = '', json = '{}'] = process.argv.slice(2);
  const operation = operations[op];
  if (operation === undefined) throw new TypeError(`unknown operation '${op}'`);
  return { ok: true, value: await operation(JSON.parse(json) as Input) };
}

main().then(
  (output) => process.stdout.write(`${JSON.stringify(output)}\n`),
  (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    const output: FixtureOutput = {
      ok: false,
      error: {
        name: e.name,
        ...(e instanceof NetworkError ? { code: e.code } : {}),
        message: e.message,
        ...(e.cause instanceof Error ? { cause: e.cause.message } : {}),
      },
    };
    process.stdout.write(`${JSON.stringify(output)}\n`);
    process.exitCode = 1;
  },
);
