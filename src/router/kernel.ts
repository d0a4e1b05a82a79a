import { applyRulesetQuickly } from '../nat/apply.js';
import { TABLE_FAMILY, TABLE_NAME } from '../nat/ruleset.js';
import {
  checkSysctlWritable,
  ensureAddress,
  linkByName,
  type NetlinkHandle,
  nftTableExists,
  openNetlink,
  reannounceLink,
  replaceRoute,
  setLinkUp,
  waitForOperUp,
  writeSysctl,
} from '../network/index.js';
import type { SetUpEffects } from './set-up.js';

/** How long set-up waits for the egress interface to be operationally up before announcing. */
export const OPER_UP_TIMEOUT_MS = 1000;

/** The real side effects: netlink in the current network namespace, /proc/sys, and nft. */
export interface KernelEffects extends SetUpEffects {
  /** Closes the netlink socket. Idempotent. */
  close(): void;
}

/**
 * Opens the side effects of set-up on the current network namespace.
 *
 * @returns the effects; close() them when done
 */
export function kernelEffects(options: { whileNftRuns?: () => void } = {}): KernelEffects {
  let handle: NetlinkHandle | undefined;
  const netlink = () => {
    handle ??= openNetlink();
    return handle;
  };
  return {
    linkIndex: async (name) => (await linkByName(netlink(), name)).index,
    checkSysctl: checkSysctlWritable,
    writeSysctl,
    async ensureAddress(ifindex, address) {
      await ensureAddress(netlink(), ifindex, address);
    },
    setLinkUp: (ifindex) => setLinkUp(netlink(), ifindex),
    replaceRoute: (ifindex, route) =>
      replaceRoute(netlink(), {
        destination: route.destination,
        ifindex,
        ...(route.gateway === undefined ? {} : { gateway: route.gateway }),
      }),
    waitForOperUp: (ifindex) => waitForOperUp(netlink(), ifindex, OPER_UP_TIMEOUT_MS),
    announce: (ifindex) => reannounceLink(netlink(), ifindex),
    async applyRuleset(document) {
      await applyRulesetQuickly(document, await tableMayExist(), options.whileNftRuns);
    },
    close() {
      handle?.close();
      handle = undefined;
    },
  };
}

/**
 * Whether our nft table exists, by one nfnetlink query (no process): then it must be replaced,
 * else only created. The query is a shortcut only: when it fails (nf_tables not loadable, no
 * CAP_NET_ADMIN, a timeout), the table is taken to exist, the replacement runs, and nft reports
 * whatever is wrong in its own words.
 */
async function tableMayExist(): Promise<boolean> {
  try {
    const nfnetlink = openNetlink({ protocol: 'netfilter' });
    try {
      return await nftTableExists(nfnetlink, TABLE_FAMILY, TABLE_NAME);
    } finally {
      nfnetlink.close();
    }
  } catch {
    return true;
  }
}
