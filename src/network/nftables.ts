import { MalformedMessageError, NotFoundError } from './errors.js';
import type { NetlinkHandle } from './handle.js';
import { NFNL } from './nft-elements.js';
import {
  concat,
  decodeAttributes,
  encodeStringAttribute,
  type NetlinkMessage,
  NLM_F_DUMP,
  readString,
} from './nlmsg.js';

/** NFNL_SUBSYS_NFTABLES (linux/netfilter/nfnetlink.h) and the NFT_MSG_* used here (nf_tables.h). */
const NFT_MSG_GETTABLE = (10 << 8) | 1;
const NFT_MSG_NEWGEN = (10 << 8) | 15;
/** NFTA_GEN_ID: the ruleset's generation, big-endian. */
const NFTA_GEN_ID = 1;
const NFT_MSG = {
  chain: { get: (10 << 8) | 4, answer: (10 << 8) | 3 },
  rule: { get: (10 << 8) | 7, answer: (10 << 8) | 6 },
  set: { get: (10 << 8) | 10, answer: (10 << 8) | 9 },
} as const;
/** NFTA_TABLE_NAME, NFTA_TABLE_HANDLE (u64, big-endian). */
const NFTA_TABLE_NAME = 1;
const NFTA_TABLE_HANDLE = 4;
/** The table attribute of chains, rules and sets (NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE). */
const NFTA_OBJECT_TABLE = 1;
/** Each object's name attribute: NFTA_CHAIN_NAME, NFTA_RULE_CHAIN (the rule's chain), NFTA_SET_NAME. */
const NFTA_OBJECT_NAME = { chain: 3, rule: 2, set: 2 } as const;
/** NFPROTO_* (linux/netfilter.h), by the family names nft uses. */
const NFPROTO = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;

/** An nf_tables family, as nft names it. */
export type NftFamily = keyof typeof NFPROTO;

/**
 * The NFT_MSG_GETTABLE request for one table: struct nfgenmsg (family, version 0, resource id 0),
 * then the table's name. Pure.
 *
 * @param family the table's family
 * @param name the table's name
 * @returns the request (the handle adds NLM_F_REQUEST and NLM_F_ACK)
 */
export function getTableRequest(family: NftFamily, name: string) {
  const nfgenmsg = new Uint8Array([NFPROTO[family], 0, 0, 0]);
  return {
    type: NFT_MSG_GETTABLE,
    flags: 0,
    payload: concat([nfgenmsg, encodeStringAttribute(NFTA_TABLE_NAME, name)]),
  };
}

/**
 * Whether an nf_tables table exists in this network namespace: one nfnetlink query, no process
 * (`nft list table` would cost one). Read-only.
 *
 * @param handle a handle opened with `{ protocol: 'netfilter' }`
 * @param family the table's family
 * @param name the table's name
 * @throws a NetlinkError when the kernel refuses the query for another reason than its absence
 *   (PermissionDeniedError without CAP_NET_ADMIN)
 */
export async function nftTableExists(
  handle: NetlinkHandle,
  family: NftFamily,
  name: string,
): Promise<boolean> {
  return (await nftTableHandle(handle, family, name)) !== undefined;
}

/**
 * A table's handle (NFTA_TABLE_HANDLE): the kernel numbers each table it makes, so a table deleted
 * and made again under the same name has another. Read-only.
 *
 * @param handle a handle opened with `{ protocol: 'netfilter' }`
 * @returns the handle, or undefined when there is no such table
 */
export async function nftTableHandle(
  handle: NetlinkHandle,
  family: NftFamily,
  name: string,
): Promise<bigint | undefined> {
  let answers: NetlinkMessage[];
  try {
    answers = await handle.request(`look up nftables table ${family} ${name}`, () =>
      getTableRequest(family, name),
    );
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  for (const answer of answers) {
    for (const attribute of decodeAttributes(answer.payload, 4)) {
      if (attribute.type === NFTA_TABLE_HANDLE && attribute.payload.length >= 8) {
        const { buffer, byteOffset } = attribute.payload;
        return new DataView(buffer, byteOffset, 8).getBigUint64(0, false);
      }
    }
  }
  return 0n;
}

/** What a table holds, without its elements: each chain with how many rules it has, and the set names. */
export interface TableShape {
  /** The kernel's handle of the table (nftTableHandle). */
  readonly handle: bigint;
  readonly chains: ReadonlyMap<string, number>;
  readonly sets: ReadonlySet<string>;
}

/**
 * A table's chains (with their rule counts) and sets, by three nfnetlink dumps: no process, and no
 * set element read (`nft -t list table` reads every element of the ruleset first: 0.3 s with
 * 100,000). Read-only.
 *
 * @param handle a handle opened with `{ protocol: 'netfilter' }`
 * @returns the table's shape, or undefined when there is no such table
 */
export async function listTableShape(
  handle: NetlinkHandle,
  family: NftFamily,
  name: string,
): Promise<TableShape | undefined> {
  const tableHandle = await nftTableHandle(handle, family, name);
  if (tableHandle === undefined) return undefined;
  const dump = (kind: keyof typeof NFT_MSG) =>
    handle.request(
      `list nftables ${kind}s of ${family} ${name}`,
      () => ({
        type: NFT_MSG[kind].get,
        flags: NLM_F_DUMP,
        payload: concat([
          new Uint8Array([NFPROTO[family], 0, 0, 0]),
          encodeStringAttribute(NFTA_OBJECT_TABLE, name),
        ]),
      }),
      (message) => objectOf(message, kind),
    );
  const ofTable = (objects: { table: string; name: string }[]) => objects.filter((o) => o.table === name);
  const chains = new Map<string, number>();
  for (const chain of ofTable(await dump('chain'))) chains.set(chain.name, 0);
  for (const rule of ofTable(await dump('rule'))) chains.set(rule.name, (chains.get(rule.name) ?? 0) + 1);
  const sets = new Set(ofTable(await dump('set')).map((set) => set.name));
  return { handle: tableHandle, chains, sets };
}

/** A dumped chain, rule or set: its table, and its name (a rule's: its chain's). */
function objectOf(message: NetlinkMessage, kind: keyof typeof NFT_MSG): { table: string; name: string } {
  let table = '';
  let objectName = '';
  if (message.type === NFT_MSG[kind].answer) {
    for (const attribute of decodeAttributes(message.payload, 4)) {
      if (attribute.type === NFTA_OBJECT_TABLE) table = readString(attribute);
      else if (attribute.type === NFTA_OBJECT_NAME[kind]) objectName = readString(attribute);
    }
  }
  return { table, name: objectName };
}

/**
 * The ruleset's generation (NFT_MSG_GETGEN): it changes with every committed nf_tables
 * transaction in this network namespace, whoever made it. One small request. Read-only.
 *
 * @param handle a handle opened with `{ protocol: 'netfilter' }`
 */
export async function nftGeneration(handle: NetlinkHandle): Promise<number> {
  const answers = await handle.request('read the nftables generation', () => ({
    type: NFNL.MSG_GETGEN,
    flags: 0,
    payload: new Uint8Array([0, 0, 0, 0]),
  }));
  for (const answer of answers) {
    if (answer.type !== NFT_MSG_NEWGEN) continue;
    for (const attribute of decodeAttributes(answer.payload, 4)) {
      if (attribute.type === NFTA_GEN_ID && attribute.payload.length >= 4) {
        const { buffer, byteOffset } = attribute.payload;
        return new DataView(buffer, byteOffset, 4).getUint32(0, false);
      }
    }
  }
  throw new MalformedMessageError('NFT_MSG_NEWGEN without NFTA_GEN_ID');
}
