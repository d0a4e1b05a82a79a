import { readFileSync } from 'node:fs';
import type { RouterConfig } from '../destination-parser/config.js';
import { type DestinationFileRead, parseRouterConfig, type RouterEnv } from '../destination-parser/config.js';
import type { Result } from '../destination-parser/errors.js';

/**
 * Reads the router's configuration from the environment, and from the file named by
 * EGRESS_DESTINATION_FILE when it is set (a mounted ConfigMap), then validates it.
 *
 * @param env the process environment
 * @returns the validated configuration or every error, in CONTRACT order
 */
export function readRouterConfig(env: RouterEnv): Result<RouterConfig> {
  return parseRouterConfig(env, readDestinationFile(env.EGRESS_DESTINATION_FILE));
}

/** Reads a destination list file; an unset path gives undefined, a failure its reason. */
export function readDestinationFile(path: string | undefined): DestinationFileRead | undefined {
  if (!path) return undefined;
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (error) {
    return { error: (error as NodeJS.ErrnoException).code ?? String(error) };
  }
}
