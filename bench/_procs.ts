/**
 * Finding and ending the detached `egress-router announce --delay 2000 <if>` process that init mode
 * leaves behind (docs/router.md, "Announcing the address"). The benchmarks end it right after each
 * router run so that its Node start-up does not compete for the CPU with the next timed run. Only
 * processes of that exact command line in the given network namespace are touched, by pid.
 *
 * Kept free of lab imports: the timing driver, which runs inside a namespace, uses it too.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/** The `net:[inode]` link of a named network namespace (`ip netns add`), as /proc/PID/ns/net shows it. */
export function namedNetnsLink(name: string): string {
  return `net:[${statSync(`/run/netns/${name}`).ino}]`;
}

/** The `net:[inode]` link of this process's network namespace. */
export function ownNetnsLink(): string {
  return readlinkSync('/proc/self/ns/net');
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ: 100 on Linux). */
const CLK_TCK = 100;

/**
 * A process's CPU time so far (all its threads, also those that ended), in seconds, from
 * /proc/PID/stat (utime and stime: fields 14 and 15 of the line, 12 and 13 after the name).
 */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/** A process's user + system CPU time so far, in seconds (see cpuTimes). */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of live `egress-router announce --delay ...` processes in a network namespace. */
export function findAnnouncers(netnsLink: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const isAnnouncer =
        argv.includes('announce') &&
        argv.includes('--delay') &&
        argv.some((arg) => arg.endsWith('/cli/main.js') || arg.endsWith('/bundle/main.cjs'));
      if (isAnnouncer && readlinkSync(`/proc/${pid}/ns/net`) === netnsLink && isLive(pid)) found.push(pid);
    } catch {
      // Gone meanwhile, or a kernel thread.
    }
  }
  return found;
}

/**
 * Kills (SIGKILL, by pid) the announce processes of a namespace and waits until they are gone.
 *
 * @returns how many there were
 * @throws when one is still alive after `timeoutMs`
 */
export async function killAnnouncers(netnsLink: string, timeoutMs = 2_000): Promise<number> {
  const pids = findAnnouncers(netnsLink);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const end = Date.now() + timeoutMs;
  while (pids.some(isLive)) {
    if (Date.now() > end)
      throw new Error(`announce processes ${pids.filter(isLive).join(', ')} survived SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return pids.length;
}
