import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** What the CPU limit is read from: the texts of /proc/self/cgroup and /proc/self/mountinfo, and a file reader. */
export interface CgroupView {
  /** The text of /proc/self/cgroup. */
  readonly cgroup: string;
  /** The text of /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** Reads a cgroup file (its trimmed text), or undefined when it cannot be read. */
  readonly read: (path: string) => string | undefined;
}

/** One mounted cgroup hierarchy: where it is mounted, the cgroup path its root is, its version. */
interface CgroupMount {
  readonly version: 1 | 2;
  readonly mountPoint: string;
  /** The cgroup path the mount's root directory stands for (`/` outside a cgroup namespace's view). */
  readonly root: string;
}

/**
 * The CPUs the cgroup quota allows this process, as a fraction of CPUs (`cpu.max` `150000 100000`
 * is 1.5): cgroup v2's `cpu.max`, or v1's `cpu.cfs_quota_us` over `cpu.cfs_period_us`, of the
 * process's cgroup and each of its ancestors inside the mount (a parent's quota limits its
 * children too), the smallest. Pure: the caller gives the texts and the reader.
 *
 * @param view the process's cgroup and mount tables, and a reader of cgroup files
 * @returns the quota in CPUs, or undefined when no quota is set (or none can be read)
 */
export function cgroupCpuQuota(view: CgroupView): number | undefined {
  let smallest: number | undefined;
  for (const mount of cgroupMounts(view.mountinfo)) {
    const path = cgroupPath(view.cgroup, mount.version);
    if (path === undefined) continue;
    for (const dir of directoriesUp(mount, path)) {
      const quota = mount.version === 2 ? quotaV2(view.read(`${dir}/cpu.max`)) : quotaV1(view, dir);
      if (quota !== undefined && (smallest === undefined || quota < smallest)) smallest = quota;
    }
  }
  return smallest;
}

/**
 * The default number of workers: the CPUs the container may use, that is the smaller of the
 * cgroup quota and the affinity mask (`os.availableParallelism()`), rounded up, at least 1.
 *
 * @param quota the cgroup quota in CPUs (undefined: none)
 * @param parallelism the CPUs of the affinity mask
 * @returns the count
 */
export function defaultWorkerCount(quota: number | undefined, parallelism: number): number {
  const cpus = quota === undefined ? parallelism : Math.min(quota, parallelism);
  return Math.max(1, Math.ceil(cpus - 1e-9));
}

/**
 * The CPUs this process may use, read from the kernel: see {@link defaultWorkerCount}.
 *
 * @returns the count, at least 1
 */
export function availableCpus(): number {
  const readText = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const quota = cgroupCpuQuota({
    cgroup: readText('/proc/self/cgroup') ?? '',
    mountinfo: readText('/proc/self/mountinfo') ?? '',
    read: readText,
  });
  return defaultWorkerCount(quota, availableParallelism());
}

function cgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const fields = before.split(' ');
    const [fstype, , superOptions = ''] = after.split(' ');
    const root = unescapeMountField(fields[3] ?? '');
    const mountPoint = unescapeMountField(fields[4] ?? '');
    if (fstype === 'cgroup2') mounts.push({ version: 2, mountPoint, root });
    else if (fstype === 'cgroup' && superOptions.split(',').includes('cpu'))
      mounts.push({ version: 1, mountPoint, root });
  }
  return mounts;
}

/** The process's cgroup path in the v2 hierarchy (`0::/path`) or the v1 hierarchy with the cpu controller. */
function cgroupPath(cgroup: string, version: 1 | 2): string | undefined {
  for (const line of cgroup.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first === -1 || second === -1) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (version === 2 && line.slice(0, first) === '0' && controllers === '') return path;
    if (version === 1 && controllers.split(',').includes('cpu')) return path;
  }
  return undefined;
}

/** The directories of `path` and its ancestors, down from the mount's root, as files under the mount point. */
function directoriesUp(mount: CgroupMount, path: string): string[] {
  const root = mount.root === '/' ? '' : mount.root;
  // A path outside the mount's root (another cgroup namespace's view): only the mount point itself.
  const inside = path === mount.root || path.startsWith(`${root}/`) ? path.slice(root.length) : '';
  const parts = inside.split('/').filter((part) => part !== '');
  const dirs = [mount.mountPoint];
  for (let i = 1; i <= parts.length; i++) dirs.push(`${mount.mountPoint}/${parts.slice(0, i).join('/')}`);
  return dirs;
}

function quotaV2(text: string | undefined): number | undefined {
  const [quota, period = '100000'] = (text ?? '').split(/\s+/);
  if (quota === undefined || !/^[0-9]+$/.test(quota) || !/^[0-9]+$/.test(period)) return undefined;
  return Number(period) > 0 ? Number(quota) / Number(period) : undefined;
}

function quotaV1(view: CgroupView, dir: string): number | undefined {
  const quota = view.read(`${dir}/cpu.cfs_quota_us`);
  const period = view.read(`${dir}/cpu.cfs_period_us`);
  if (quota === undefined || period === undefined) return undefined;
  if (!/^[0-9]+$/.test(quota) || !/^[0-9]+$/.test(period) || Number(period) === 0) return undefined;
  return Number(quota) / Number(period);
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountField(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * How `--check` shows the worker count: `workers N`, marked `(one per CPU)` when the setting was
 * left unset (the count then follows the CPUs the container may use).
 *
 * @param count the workers the proxy would run (workerCount)
 * @param setting the EGRESS_*_WORKERS setting, 0 when unset
 * @returns the text
 */
export function workerCountText(count: number, setting: number): string {
  return `workers ${count}${setting === 0 ? ' (one per CPU)' : ''}`;
}

/**
 * Whether this process can start workers for `command`: it runs as `egress-router <command>`, so
 * that a worker (this process's command again) runs that command too. A caller of the command's
 * function inside another program (a test) runs as one process.
 *
 * @param command the CLI command (`http-proxy`, `dns-proxy`)
 * @returns true when process.argv names the command
 */
export function canStartWorkers(command: string): boolean {
  return process.argv[2] === command;
}

/**
 * How many processes `command` runs: the setting (EGRESS_*_WORKERS), else one per CPU the process
 * may use; one when it cannot start workers (canStartWorkers).
 *
 * @param command the CLI command
 * @param setting the validated setting, 0 when unset
 * @param cpus the CPUs the process may use (availableCpus)
 * @returns the count, at least 1
 */
export function workerCount(command: string, setting: number, cpus: number): number {
  return canStartWorkers(command) ? setting || cpus : 1;
}
