import type { Cidr, IpAddress } from './address.js';
import { type Destination, type NamePolicy, parseDestinationList } from './destination-list.js';
import { type ConfigError, configError, type Result } from './errors.js';
import { chooseListSource, type DestinationFileRead } from './list-source.js';
import { type PerFamily, parseGateway, parseSource, perFamilyFamilies } from './source.js';

/** The modes of EGRESS_ROUTER_MODE (CONTRACT.md). */
export const ROUTER_MODES = ['init', 'legacy', 'http-proxy', 'dns-proxy', 'unit-test'] as const;
export type RouterMode = (typeof ROUTER_MODES)[number];

/** The mode when EGRESS_ROUTER_MODE is unset or empty. */
export const DEFAULT_MODE: RouterMode = 'legacy';
/** The pod-network interface traffic arrives on, unless EGRESS_ROUTER_POD_INTERFACE says otherwise. */
export const DEFAULT_POD_INTERFACE = 'eth0';
/** The interface traffic leaves by, unless EGRESS_ROUTER_EGRESS_INTERFACE says otherwise. */
export const DEFAULT_EGRESS_INTERFACE = 'macvlan0';

/** The environment variables the router reads. */
export interface RouterEnv {
  readonly EGRESS_SOURCE?: string | undefined;
  readonly EGRESS_GATEWAY?: string | undefined;
  readonly EGRESS_DESTINATION?: string | undefined;
  readonly EGRESS_DESTINATION_FILE?: string | undefined;
  readonly EGRESS_ROUTER_MODE?: string | undefined;
  readonly EGRESS_ROUTER_DEBUG?: string | undefined;
  readonly EGRESS_ROUTER_POD_INTERFACE?: string | undefined;
  readonly EGRESS_ROUTER_EGRESS_INTERFACE?: string | undefined;
}

/** What the caller read for EGRESS_DESTINATION_FILE: the text, or why it could not be read. */
export type { DestinationFileRead } from './list-source.js';

/** A validated router configuration: the single input of the planner. */
export interface RouterConfig {
  readonly mode: RouterMode;
  readonly debug: boolean;
  readonly source: PerFamily<Cidr>;
  readonly gateway: PerFamily<IpAddress>;
  readonly podInterface: string;
  readonly egressInterface: string;
  /** The destination list in list order; empty in the proxy modes. */
  readonly destinations: Destination[];
}

/**
 * Validates the router's environment in CONTRACT order: source, gateway, mode, then the list top to
 * bottom. Every problem is collected; the runtime prints the first, `validate` prints all.
 *
 * @param env the environment variables
 * @param destinationFile the content of EGRESS_DESTINATION_FILE when that variable is set
 * @returns the configuration, or every error found
 */
export function parseRouterConfig(
  env: RouterEnv,
  destinationFile?: DestinationFileRead,
): Result<RouterConfig> {
  const errors: ConfigError[] = [];
  const source = parseSource(env.EGRESS_SOURCE);
  if (!source) errors.push(configError('SOURCE_INVALID', 'EGRESS_SOURCE unspecified or invalid'));

  const gateway = parseGateway(env.EGRESS_GATEWAY);
  if (!gateway || (source && !gatewayFitsSource(gateway, source))) {
    errors.push(configError('GATEWAY_INVALID', 'EGRESS_GATEWAY unspecified or invalid'));
  }

  const modeText = env.EGRESS_ROUTER_MODE ?? '';
  const mode = modeText === '' ? DEFAULT_MODE : ROUTER_MODES.find((known) => known === modeText);
  if (!mode) errors.push(configError('MODE_UNRECOGNIZED', `Unrecognized EGRESS_ROUTER_MODE '${modeText}'`));

  const podInterface = env.EGRESS_ROUTER_POD_INTERFACE || DEFAULT_POD_INTERFACE;
  const egressInterface = env.EGRESS_ROUTER_EGRESS_INTERFACE || DEFAULT_EGRESS_INTERFACE;
  for (const [name, value] of [
    ['EGRESS_ROUTER_POD_INTERFACE', podInterface],
    ['EGRESS_ROUTER_EGRESS_INTERFACE', egressInterface],
  ] as const) {
    if (!isInterfaceName(value)) {
      errors.push(configError('INTERFACE_INVALID', `${name} '${value}' is not a valid interface name`));
    }
  }
  if (podInterface === egressInterface) {
    errors.push(
      configError(
        'INTERFACE_INVALID',
        `EGRESS_ROUTER_POD_INTERFACE and EGRESS_ROUTER_EGRESS_INTERFACE are both '${podInterface}'`,
      ),
    );
  }

  let destinations: Destination[] = [];
  if (mode !== 'http-proxy' && mode !== 'dns-proxy') {
    const list = destinationText(env, destinationFile);
    if ('error' in list) {
      errors.push(list.error);
    } else {
      const parsed = parseDestinationList(list.text, source ? perFamilyFamilies(source) : undefined, {
        names: namePolicyOf(mode),
      });
      errors.push(...parsed.errors);
      destinations = parsed.destinations;
    }
  }

  if (errors.length > 0 || !source || !gateway || !mode) return { ok: false, errors };
  return {
    ok: true,
    value: {
      mode,
      debug: (env.EGRESS_ROUTER_DEBUG ?? '') !== '',
      source,
      gateway,
      podInterface,
      egressInterface,
      destinations,
    },
  };
}

/**
 * Whether a mode takes DNS names in the destination list: legacy mode (a process stays to resolve
 * them) does; unit-test mode refuses them as the old image did (its plain error); the other modes
 * refuse them saying why. An unrecognized mode (already an error) takes them, adding no error.
 *
 * @param mode the mode, undefined when EGRESS_ROUTER_MODE is not one
 * @returns the policy for parseDestinationList
 */
export function namePolicyOf(mode: RouterMode | undefined): NamePolicy {
  if (mode === undefined || mode === 'legacy') return 'allowed';
  return mode === 'unit-test' ? 'invalid' : 'needs-legacy';
}

function destinationText(
  env: RouterEnv,
  destinationFile: DestinationFileRead | undefined,
): { text: string } | { error: ConfigError } {
  const source = chooseListSource(
    'EGRESS_DESTINATION',
    env.EGRESS_DESTINATION,
    env.EGRESS_DESTINATION_FILE,
    destinationFile,
  );
  if (!source.ok) {
    return source.problem === 'both-set'
      ? { error: configError('DESTINATION_BOTH_SET', source.message) }
      : {
          error: configError('DESTINATION_UNSPECIFIED', `EGRESS_DESTINATION unspecified: ${source.message}`),
        };
  }
  if (source.text) return { text: source.text };
  return { error: configError('DESTINATION_UNSPECIFIED', 'EGRESS_DESTINATION unspecified') };
}

function gatewayFitsSource(gateway: PerFamily<IpAddress>, source: PerFamily<Cidr>): boolean {
  return (
    (gateway.ipv4 === undefined) === (source.ipv4 === undefined) &&
    (gateway.ipv6 === undefined) === (source.ipv6 === undefined) &&
    (gateway.ipv4 === undefined || gateway.ipv4.address !== source.ipv4?.address) &&
    (gateway.ipv6 === undefined || gateway.ipv6.address !== source.ipv6?.address)
  );
}

/** A name the kernel takes for a link (dev_valid_name: no '/', ':' or space), from a safe alphabet. */
function isInterfaceName(name: string): boolean {
  return /^[A-Za-z0-9_.@-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}
