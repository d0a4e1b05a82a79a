import { readFileSync } from 'node:fs';
import { ExitError } from '../cli/exit-error.js';
import type { NodeStatus } from './status.js';

/**
 * The agent's status: from its admin port on this host (live, with counters), else from its status
 * file (as of its last reconcile).
 *
 * @param port the agent's admin port (0: only the file)
 * @param file the status file
 * @throws ExitError when neither answers
 */
export async function readNodeStatus(port: number, file: string): Promise<NodeStatus> {
  if (port > 0) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) return (await response.json()) as NodeStatus;
    } catch {
      // Not running, or not here: the file says what the last run did.
    }
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as NodeStatus;
  } catch (error) {
    throw new ExitError(
      `node status: no agent answers on port ${port} and '${file}' cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}
