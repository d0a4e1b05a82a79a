import type { Family } from '../destination-parser/address.js';
import type { RouterPlan } from '../destination-parser/plan.js';
import type { NftDocument } from '../nat/ruleset.js';
import type { LogSink } from '../runtime/deferred-log.js';

/** The side effects set-up needs; the real ones are in ./kernel.ts, over src/network and nft. */
export interface SetUpEffects {
  /** Resolves an interface name to its index, or throws naming it. */
  linkIndex(name: string): Promise<number>;
  /** Throws (SysctlError) unless the sysctl under /proc/sys can be written; changes nothing. */
  checkSysctl(path: string): Promise<void>;
  /** Writes a sysctl under /proc/sys (per network namespace). */
  writeSysctl(path: string, value: string): Promise<void>;
  ensureAddress(ifindex: number, address: RouterPlan['addresses'][number]): Promise<void>;
  setLinkUp(ifindex: number): Promise<void>;
  replaceRoute(ifindex: number, route: RouterPlan['routes'][number]): Promise<void>;
  /** Waits (bounded) until the interface is operationally up; false when it did not get there. */
  waitForOperUp(ifindex: number): Promise<boolean>;
  /** Makes the kernel announce every address of the interface (gratuitous ARP and unsolicited NA). */
  announce(ifindex: number): Promise<void>;
  /** Applies an nft JSON document in one transaction. */
  applyRuleset(document: NftDocument): Promise<void>;
}

/**
 * Applies a plan: the nft table first (one atomic transaction: if it fails nothing was changed),
 * then the egress interface (notify sysctls, addresses, link up), routes, forwarding, and the first
 * announcement. Every step is idempotent, so a restarted pod gets the same state again.
 *
 * @param plan the plan from planRouter
 * @param ruleset the nft document built from plan.nat
 * @param effects the side effects
 * @param log every step at debug level
 * @throws the first failing step's error; interfaces are checked before anything is changed
 */
export async function setUp(
  plan: RouterPlan,
  ruleset: NftDocument,
  effects: SetUpEffects,
  log: LogSink,
): Promise<void> {
  const egress = await effects.linkIndex(plan.egressInterface);
  await effects.linkIndex(plan.podInterface);
  log.debug({ step: 'interfaces', egress: plan.egressInterface, pod: plan.podInterface }, 'interfaces found');

  // Every sysctl set-up writes must be writable before anything changes (a read-only /proc/sys,
  // as in a container without the right options, fails here, not after the nft table is in).
  const notify = notifySysctls(plan);
  for (const path of [...notify.map(([path]) => path), ...plan.forwarding.map(forwardingSysctl)]) {
    await effects.checkSysctl(path);
  }

  await effects.applyRuleset(ruleset);
  log.debug({ step: 'nftables', commands: ruleset.nftables.length }, 'nftables table egress_router replaced');

  for (const [path, value] of notify) await effects.writeSysctl(path, value);
  for (const address of plan.addresses) {
    await effects.ensureAddress(egress, address);
    log.debug(
      { step: 'address', address: `${address.address}/${address.prefix}`, dev: plan.egressInterface },
      'address set',
    );
  }
  await effects.setLinkUp(egress);
  const operUp = await effects.waitForOperUp(egress);
  log.debug({ step: 'link', dev: plan.egressInterface, operUp }, 'link up');
  if (!operUp)
    log.warn(
      { dev: plan.egressInterface },
      'link not operationally up yet; the announcement 2 s later covers it',
    );

  for (const route of plan.routes) {
    await effects.replaceRoute(egress, route);
    log.debug(
      {
        step: 'route',
        destination: `${route.destination.address}/${route.destination.prefix}`,
        gateway: route.gateway,
      },
      'route replaced',
    );
  }
  for (const family of plan.forwarding) {
    await effects.writeSysctl(forwardingSysctl(family), '1');
    log.debug({ step: 'forwarding', family }, 'forwarding enabled');
  }
  if (plan.announce.length > 0) {
    await effects.announce(egress);
    log.debug({ step: 'announce', addresses: plan.announce.map((a) => a.address) }, 'addresses announced');
  }
}

function forwardingSysctl(family: Family): string {
  return family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding';
}

/** The egress interface's settings for announcements (and no DAD delay for IPv6), per family in use. */
function notifySysctls(plan: RouterPlan): [string, string][] {
  const families = new Set<Family>(plan.addresses.map((a) => a.family));
  const dev = plan.egressInterface;
  const writes: [string, string][] = [];
  if (families.has(4)) writes.push([`net/ipv4/conf/${dev}/arp_notify`, '1']);
  if (families.has(6))
    writes.push([`net/ipv6/conf/${dev}/ndisc_notify`, '1'], [`net/ipv6/conf/${dev}/accept_dad`, '0']);
  return writes;
}
