import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ExitError } from './exit-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's arguments strictly: an unknown flag or a missing value is a user error.
 *
 * @param command the command's name, for the error text
 * @param args the arguments after the command
 * @param options the flags it takes (`help` is added)
 * @param maxPositionals how many positional arguments it takes
 * @returns the values and positionals
 * @throws ExitError on an unknown flag or too many arguments
 */
export function parseCommandArgs<T extends Options>(
  command: string,
  args: string[],
  options: T,
  maxPositionals: number,
) {
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      options: T & { help: { type: 'boolean' } };
      allowPositionals: true;
      strict: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new ExitError(
      `${command}: ${describeArgError(error as NodeJS.ErrnoException)} (see 'egress-router ${command} --help')`,
      1,
      { cause: error },
    );
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new ExitError(
      `${command}: unexpected argument '${parsed.positionals[maxPositionals]}' (see 'egress-router ${command} --help')`,
    );
  }
  return parsed;
}

function describeArgError(error: NodeJS.ErrnoException): string {
  // Node quotes the option as '--name', '-n, --name' or '-n, --name <value>': keep the long name.
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  const option = quoted
    .replace(/ <value>$/, '')
    .split(', ')
    .at(-1);
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${option}'`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return `option '${option}' takes ${error.message.includes('argument missing') ? 'a value' : 'no value'}`;
  return error.message.split('\n')[0] ?? 'invalid arguments';
}
