import { NotFoundError } from './errors.js';
import type { NetlinkHandle } from './handle.js';
import { concat, encodeStringAttribute } from './nlmsg.js';

/** NFNL_SUBSYS_NFTABLES (linux/netfilter/nfnetlink.h) and NFT_MSG_GETTABLE (nf_tables.h). */
const NFT_MSG_GETTABLE = (10 << 8) | 1;
/** NFTA_TABLE_NAME. */
const NFTA_TABLE_NAME = 1;
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
  try {
    await handle.request(`look up nftables table ${family} ${name}`, () => getTableRequest(family, name));
    return true;
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}
