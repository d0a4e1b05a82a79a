import type { ConfigError } from '../destination-parser/errors.js';

/**
 * Formats problems the way `validate` reports them: `<origin>:<line>: <message>` for a line of the
 * destination list, the plain message otherwise.
 *
 * @param errors the problems, in check order
 * @param origin where the list came from: a file path or `EGRESS_DESTINATION`
 * @returns one line per problem
 */
export function formatErrors(errors: readonly ConfigError[], origin: string): string[] {
  return errors.map((error) =>
    error.line === undefined ? error.message : `${origin}:${error.line}: ${error.message}`,
  );
}
