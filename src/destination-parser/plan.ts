import type { Cidr, Family, IpAddress } from './address.js';
import type { RouterConfig, RouterMode } from './config.js';
import type { Fallback, PortMapping, Protocol } from './destination-list.js';
import { perFamilyValues } from './source.js';

/** A route the set-up installs (replacing any route to the same destination). */
export interface RoutePlan {
  readonly family: Family;
  /** `default`, or a host route to the gateway. */
  readonly destination: Cidr;
  readonly gateway?: string;
  readonly device: string;
}

/**
 * One family of a name entry (legacy mode): its connections are spread over the name's current
 * addresses of that family, kept in the map `map` (slot to address) while the router runs.
 */
export type NameTarget =
  | {
      readonly kind: 'mapping';
      readonly line: number;
      readonly name: string;
      readonly family: Family;
      readonly map: string;
      readonly protocol: Protocol;
      readonly localPort: number;
      readonly remotePort: number;
    }
  | {
      readonly kind: 'fallback';
      readonly line: number;
      readonly name: string;
      readonly family: Family;
      readonly map: string;
    };

/** What the NAT ruleset must do: the input of `buildRuleset` and `renderRuleset`. */
export interface NatPlan {
  readonly podInterface: string;
  readonly egressInterface: string;
  /** Port mappings in list order. */
  readonly mappings: readonly PortMapping[];
  /** At most one fallback per family. */
  readonly fallbacks: readonly Fallback[];
  /**
   * Name entries, one per family they serve, in list order (the fallback last); a family has an
   * address fallback or a name fallback, not both.
   */
  readonly names: readonly NameTarget[];
  /** The source address every packet leaving the egress interface is rewritten to, per family. */
  readonly snat: readonly IpAddress[];
  /** Families whose unmapped TCP/UDP connections from the pod interface are refused at once. */
  readonly refuse: readonly Family[];
}

/** Everything set-up does, as data: the single input of the apply layer. */
export interface RouterPlan {
  readonly mode: RouterMode;
  readonly podInterface: string;
  readonly egressInterface: string;
  /** Addresses installed on the egress interface. */
  readonly addresses: readonly Cidr[];
  /** Routes in the order they are installed (host route to the gateway before the default). */
  readonly routes: readonly RoutePlan[];
  /** Families whose forwarding must be enabled in the pod's namespace. */
  readonly forwarding: readonly Family[];
  /** Source addresses to announce (gratuitous ARP, unsolicited neighbour advertisement). */
  readonly announce: readonly IpAddress[];
  readonly nat: NatPlan;
}

/**
 * Turns a validated configuration into the plan of every change set-up makes. Pure.
 *
 * @param config a configuration from parseRouterConfig
 * @returns the plan: addresses, routes, sysctls, announcements and the NAT plan
 */
export function planRouter(config: RouterConfig): RouterPlan {
  const sources = perFamilyValues(config.source);
  const gateways = perFamilyValues(config.gateway);
  const routes: RoutePlan[] = [];
  for (const gateway of gateways) {
    const host = gateway.family === 4 ? 32 : 128;
    routes.push({
      family: gateway.family,
      destination: { ...gateway, prefix: host },
      device: config.egressInterface,
    });
    routes.push({
      family: gateway.family,
      destination: { address: gateway.family === 4 ? '0.0.0.0' : '::', family: gateway.family, prefix: 0 },
      gateway: gateway.address,
      device: config.egressInterface,
    });
  }
  const mappings = config.destinations.filter((entry): entry is PortMapping => entry.kind === 'mapping');
  const fallbacks = config.destinations.filter((entry): entry is Fallback => entry.kind === 'fallback');
  const redirects = config.mode !== 'http-proxy' && config.mode !== 'dns-proxy';
  const families = sources.map((source) => source.family);
  const names = nameTargets(config);
  return {
    mode: config.mode,
    podInterface: config.podInterface,
    egressInterface: config.egressInterface,
    addresses: sources,
    routes,
    forwarding: redirects ? families : [],
    announce: sources.map(({ address, family }) => ({ address, family })),
    nat: {
      podInterface: config.podInterface,
      egressInterface: config.egressInterface,
      mappings,
      fallbacks,
      names,
      snat: sources.map(({ address, family }) => ({ address, family })),
      // A family with names refuses what its names do not take (a name without an address yet).
      refuse: redirects
        ? families.filter(
            (family) =>
              !fallbacks.some((f) => f.destination.family === family) ||
              names.some((n) => n.family === family),
          )
        : [],
    },
  };
}

/**
 * The name map of one family of a name entry: `name4_tcp_80` for a mapping, `name4_fallback` for
 * the fallback (local ports are unique per protocol and family, so the names are).
 *
 * @param family the family the map serves
 * @param entry the protocol and local port of a mapping, or undefined for the fallback
 * @returns the map's name in our table
 */
export function nameMapName(family: Family, entry?: { protocol: Protocol; localPort: number }): string {
  return entry === undefined
    ? `name${family}_fallback`
    : `name${family}_${entry.protocol}_${entry.localPort}`;
}

/** The name entries of a configuration, one target per family they serve, in list order. */
function nameTargets(config: RouterConfig): NameTarget[] {
  const targets: NameTarget[] = [];
  for (const entry of config.destinations) {
    if (entry.kind === 'name-mapping') {
      for (const family of entry.families) {
        targets.push({
          kind: 'mapping',
          line: entry.line,
          name: entry.name,
          family,
          map: nameMapName(family, entry),
          protocol: entry.protocol,
          localPort: entry.localPort,
          remotePort: entry.remotePort,
        });
      }
    } else if (entry.kind === 'name-fallback') {
      for (const family of entry.families) {
        targets.push({
          kind: 'fallback',
          line: entry.line,
          name: entry.name,
          family,
          map: nameMapName(family),
        });
      }
    }
  }
  return targets;
}
