import type { Cidr, Family, IpAddress } from './address.js';
import type { RouterConfig, RouterMode } from './config.js';
import type { Fallback, PortMapping } from './destination-list.js';
import { perFamilyValues } from './source.js';

/** A route the set-up installs (replacing any route to the same destination). */
export interface RoutePlan {
  readonly family: Family;
  /** `default`, or a host route to the gateway. */
  readonly destination: Cidr;
  readonly gateway?: string;
  readonly device: string;
}

/** What the NAT ruleset must do: the input of `buildRuleset` and `renderRuleset`. */
export interface NatPlan {
  readonly podInterface: string;
  readonly egressInterface: string;
  /** Port mappings in list order. */
  readonly mappings: readonly PortMapping[];
  /** At most one fallback per family. */
  readonly fallbacks: readonly Fallback[];
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
      snat: sources.map(({ address, family }) => ({ address, family })),
      refuse: redirects
        ? families.filter((family) => !fallbacks.some((f) => f.destination.family === family))
        : [],
    },
  };
}
