import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NftDocument } from './ruleset.js';
import { asCreation } from './ruleset.js';

/** The nft binary; the images put it on PATH. */
export const NFT = 'nft';
/** How long one nft transaction may take before it is killed. */
export const NFT_TIMEOUT_MS = 10_000;

/** nft refused a transaction or could not be run; nothing was changed (nft applies all or nothing). */
export class NftError extends Error {
  readonly code = 'ERR_NFT_APPLY';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NftError';
  }
}

/**
 * Applies an nft JSON document as one transaction (`nft -j -f -`): all of it or nothing.
 *
 * nft opens `/dev/stdin` by path, which fails on the socket pairs Node uses for child stdio, so the
 * document is written to a private temporary file (mode 0600, unlinked before nft runs) whose
 * descriptor becomes nft's standard input.
 *
 * @param document the ruleset from buildRuleset
 * @param options `check` only checks (`nft --check`), changing nothing; `whileRunning` is called
 *   once nft is started (this process has nothing else to do until it exits)
 * @throws NftError with nft's first error line when nft refuses it or cannot be run
 */
export async function applyRuleset(
  document: NftDocument,
  options: { check?: boolean; whileRunning?: () => void } = {},
): Promise<void> {
  await runNft(
    [...(options.check ? ['--check'] : []), '-j', '-f', '-'],
    JSON.stringify(document),
    options.whileRunning,
  );
}

/**
 * Applies a replacement document from buildRuleset the quickest way that is still one transaction.
 * Where the table does not exist (a fresh pod), as its creation (asCreation): removing anything from
 * nf_tables makes the kernel wait for an RCU grace period, ~12 ms of a ~20 ms transaction here, and
 * there is nothing to remove. If the table appeared meanwhile, the creation is refused as a whole
 * and the replacement runs. Where it exists, as the replacement.
 *
 * @param document the ruleset from buildRuleset
 * @param tableExists whether our table exists now (nftTableExists in src/network)
 * @param whileRunning called once nft is started: work this process can do while nft runs
 * @throws NftError with the replacement's error when it fails
 */
export async function applyRulesetQuickly(
  document: NftDocument,
  tableExists: boolean,
  whileRunning?: () => void,
): Promise<void> {
  const creation = tableExists ? undefined : asCreation(document);
  if (creation) {
    try {
      await applyRuleset(creation, { whileRunning });
      return;
    } catch (error) {
      if (!(error instanceof NftError)) throw error;
    }
  }
  await applyRuleset(document, { whileRunning });
}

async function runNft(args: string[], input: string, whileRunning?: () => void): Promise<void> {
  const stdin = fileWith(input);
  try {
    const done = spawnNft(args, stdin, false);
    whileRunning?.();
    await done;
  } finally {
    closeSync(stdin);
  }
}

/**
 * Runs a read-only nft command (`list ...`) and returns what it printed.
 *
 * @param args nft's arguments, e.g. `['-j', 'list', 'table', 'inet', 'egress_router_node']`
 * @returns nft's standard output
 * @throws NftError with nft's first error line when it fails (a table that does not exist too)
 */
export async function queryNft(args: string[]): Promise<string> {
  return spawnNft(args, 'ignore', true);
}

/** A descriptor of an unlinked private file holding `text`, positioned at its start. */
function fileWith(text: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'egress-router-nft-'));
  try {
    const path = join(dir, 'ruleset.json');
    writeFileSync(path, text, { mode: 0o600 });
    return openSync(path, 'r');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnNft(args: string[], stdin: number | 'ignore', capture: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(NFT, args, {
      stdio: [stdin, capture ? 'pipe' : 'ignore', 'pipe'],
      timeout: NFT_TIMEOUT_MS,
    });
    const stderr: Buffer[] = [];
    const stdout: Buffer[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.on('error', (error) =>
      reject(new NftError(`cannot run '${NFT}': ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve(Buffer.concat(stdout).toString('utf8'));
        return;
      }
      const text = Buffer.concat(stderr).toString('utf8').trim();
      const first = text.split('\n').find((line) => line.includes('Error')) ?? text.split('\n')[0] ?? '';
      reject(new NftError(`nft ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${first}`));
    });
  });
}
