import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The real entry file, bin/egress-router (it loads dist/bundle/main.cjs, or dist/src/cli/main.js). */
export const BIN = fileURLToPath(new URL('../../../bin/egress-router', import.meta.url));

/** What a run of the CLI printed and how it ended. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs bin/egress-router with exactly the given environment (nothing inherited).
 *
 * @param args the arguments, as an array (no shell)
 * @param env the whole environment of the child
 * @returns its exit status and output
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}): CliRun {
  const run = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 20_000 });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * The last line of an output (the line before the final newline).
 *
 * @param output text ending with a newline
 * @returns its last line, or '' when empty
 */
export function lastLine(output: string): string {
  return output.replace(/\n$/, '').split('\n').at(-1) ?? '';
}

/** A stream that keeps what is written to it, for calling the commands' functions directly. */
export class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}
