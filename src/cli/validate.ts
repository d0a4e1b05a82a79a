import { readFileSync } from 'node:fs';
import type { Cidr } from '../destination-parser/address.js';
import { namePolicyOf, ROUTER_MODES, type RouterEnv, type RouterMode } from '../destination-parser/config.js';
import { type Destination, parseDestinationList } from '../destination-parser/destination-list.js';
import { type ConfigError, configError } from '../destination-parser/errors.js';
import { type PerFamily, parseSource, perFamilyFamilies } from '../destination-parser/source.js';
import { parseCommandArgs } from './args.js';
import { ExitError } from './exit-error.js';
import { formatErrors } from './format-errors.js';
import { readRouterConfig } from './read-config.js';

export const VALIDATE_HELP = `Usage: egress-router validate [FILE]

Checks a destination list and reports every problem with its line number (not only the first).

With FILE, checks the list in FILE; EGRESS_SOURCE, when set, is checked too and decides which
address families the list may use; EGRESS_ROUTER_MODE, when set, decides whether DNS names may
stand for addresses (legacy mode, the default, takes them). Without FILE, checks the whole environment the router would
read: EGRESS_SOURCE, EGRESS_GATEWAY, EGRESS_ROUTER_MODE and EGRESS_DESTINATION (or the file named
by EGRESS_DESTINATION_FILE).

Exit status: 0 when valid, 1 when any problem was found.
`;

/**
 * \`egress-router validate [FILE]\`.
 *
 * @param args the arguments after \`validate\`
 * @param env the process environment
 * @param stdout where the summary goes
 * @param stderr where every problem goes, one per line
 * @throws ExitError when any problem was found
 */
export function runValidate(
  args: string[],
  env: RouterEnv,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): void {
  const { values, positionals } = parseCommandArgs('validate', args, {}, 1);
  if (values.help) {
    stdout.write(VALIDATE_HELP);
    return;
  }
  const file = positionals[0];
  const { origin, errors, destinations, mode } =
    file === undefined ? validateEnvironment(env) : validateFile(file, env);
  if (errors.length > 0) {
    for (const line of formatErrors(errors, origin)) stderr.write(`${line}\n`);
    throw new ExitError(`${origin}: ${errors.length} problem${errors.length === 1 ? '' : 's'} found`);
  }
  stdout.write(`${origin}: valid: ${summarize(destinations, mode)}\n`);
}

function validateEnvironment(env: RouterEnv) {
  const origin = env.EGRESS_DESTINATION_FILE || 'EGRESS_DESTINATION';
  const result = readRouterConfig(env);
  return result.ok
    ? { origin, errors: [], destinations: result.value.destinations, mode: result.value.mode }
    : { origin, errors: result.errors, destinations: [], mode: undefined };
}

function validateFile(file: string, env: RouterEnv) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ExitError(
      `validate: cannot read '${file}': ${(error as NodeJS.ErrnoException).code ?? error}`,
      1,
      { cause: error },
    );
  }
  const errors: ConfigError[] = [];
  let source: PerFamily<Cidr> | undefined;
  if (env.EGRESS_SOURCE !== undefined) {
    source = parseSource(env.EGRESS_SOURCE);
    if (!source) errors.push(configError('SOURCE_INVALID', 'EGRESS_SOURCE unspecified or invalid'));
  }
  // Names are taken unless EGRESS_ROUTER_MODE names a mode that refuses them.
  const modeText = env.EGRESS_ROUTER_MODE ?? '';
  const mode = modeText === '' ? 'legacy' : ROUTER_MODES.find((known) => known === modeText);
  const list = parseDestinationList(text, source ? perFamilyFamilies(source) : undefined, {
    names: namePolicyOf(mode),
  });
  if (text === '') errors.push(configError('DESTINATION_UNSPECIFIED', 'EGRESS_DESTINATION unspecified'));
  errors.push(...list.errors);
  return { origin: file, errors, destinations: list.destinations, mode: undefined };
}

function summarize(destinations: readonly Destination[], mode: RouterMode | undefined): string {
  // The proxy modes only set up the network: no list is read and no port is refused.
  if (mode === 'http-proxy' || mode === 'dns-proxy') return `mode ${mode}, no destination list used`;
  const mappings = destinations.filter(
    (entry) => entry.kind === 'mapping' || entry.kind === 'name-mapping',
  ).length;
  const fallbacks = destinations.flatMap((entry) =>
    entry.kind === 'fallback'
      ? [entry.destination.address]
      : entry.kind === 'name-fallback'
        ? [entry.name]
        : [],
  );
  const names = new Set(
    destinations.flatMap((entry) =>
      entry.kind === 'name-mapping' || entry.kind === 'name-fallback' ? [entry.name] : [],
    ),
  );
  const resolved =
    names.size === 0
      ? ''
      : `, ${names.size} DNS name${names.size === 1 ? '' : 's'} resolved at run time (legacy mode)`;
  return `${mappings} port mapping${mappings === 1 ? '' : 's'}, ${
    fallbacks.length > 0 ? `fallback ${fallbacks.join(' and ')}` : 'no fallback (other ports refused)'
  }${resolved}`;
}
