import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countHostsReads,
  type DnsmasqQuery,
  type DnsRecords,
  parseDnsmasqQueries,
  renderDnsmasqConf,
  renderHosts,
} from './dnsmasq-config.js';
import type { ProcessHandle } from './process.js';

/** Debian's dnsmasq (package dnsmasq-base). */
export const DNSMASQ = '/usr/sbin/dnsmasq';
/** The TTL of the answers unless told otherwise, in seconds. */
export const DEFAULT_DNS_TTL = 30;

/** Options of {@link startDnsmasq}. */
export interface DnsmasqOptions {
  /** The address or addresses to answer on; they must exist in the namespace. */
  readonly listen: string | readonly string[];
  /** The records (default none: every name is NXDOMAIN). */
  readonly records?: DnsRecords;
  /** The TTL of every answer, in seconds (default 30). */
  readonly ttl?: number;
  /** The port (default 53). */
  readonly port?: number;
  /** How long to wait for dnsmasq to be ready, and for a reload (default 5 000 ms). */
  readonly timeoutMs?: number;
  /**
   * Put in the name of its directory, `<tmp>/lab-dnsmasq-<label>-XXXXXX` (a lab gives its
   * namespace's name, so that a clean-up of stale labs finds the directory); letters, digits, `_`, `-`.
   */
  readonly label?: string;
}

/** The start of the name of every dnsmasq directory, under the temporary directory. */
export const DNSMASQ_DIR_PREFIX = 'lab-dnsmasq-';

/** A running dnsmasq. */
export interface DnsmasqHandle {
  readonly process: ProcessHandle;
  readonly listen: readonly string[];
  readonly port: number;
  readonly ttl: number;
  /** The directory of its configuration and hosts file (removed when dnsmasq exits). */
  readonly dir: string;
  /** The records it answers with now. */
  records(): DnsRecords;
  /**
   * Replaces the records: rewrites the hosts file and sends SIGHUP, which makes dnsmasq re-read it
   * and empty its cache; settles once dnsmasq has logged the new read.
   *
   * @throws TypeError for a bad record (nothing changes), Error when dnsmasq does not reload in time
   */
  setRecords(records: DnsRecords): Promise<void>;
  /** The queries it has logged so far. */
  queries(): DnsmasqQuery[];
  /** Stops it (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a program with arguments somewhere (in a lab: in a namespace, tracked by the lab). */
export type Spawner = (cmd: string, args: readonly string[]) => Promise<ProcessHandle>;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts dnsmasq in the foreground (`--keep-in-foreground`, in its own process group through the
 * spawner) answering only with the given records: its configuration and hosts file live in a new
 * directory under the temporary directory, readable by the user dnsmasq drops to.
 *
 * @param spawn starts the program (e.g. a lab's spawnIn for a namespace)
 * @param options addresses, records, TTL, port
 * @returns a handle to change its records and stop it
 * @throws TypeError or RangeError for bad options; Error when dnsmasq does not start (its stderr)
 */
export async function startDnsmasq(spawn: Spawner, options: DnsmasqOptions): Promise<DnsmasqHandle> {
  const listen = typeof options.listen === 'string' ? [options.listen] : [...options.listen];
  const port = options.port ?? 53;
  const ttl = options.ttl ?? DEFAULT_DNS_TTL;
  const timeoutMs = options.timeoutMs ?? 5_000;
  let current: DnsRecords = { ...(options.records ?? {}) };
  const hostsText = renderHosts(current);
  const label = options.label ?? '';
  if (!/^[A-Za-z0-9_-]*$/.test(label)) throw new TypeError(`dnsmasq: bad label '${label}'`);
  const dir = mkdtempSync(join(tmpdir(), `${DNSMASQ_DIR_PREFIX}${label === '' ? '' : `${label}-`}`));
  const hostsPath = join(dir, 'hosts');
  const confPath = join(dir, 'dnsmasq.conf');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  let handle: ProcessHandle;
  try {
    // dnsmasq reads the hosts file again after it dropped root (to nobody).
    chmodSync(dir, 0o755);
    writeFileSync(hostsPath, hostsText, { mode: 0o644 });
    writeFileSync(confPath, renderDnsmasqConf({ listen, port, hostsPath, ttl }), { mode: 0o644 });
    handle = await spawn(DNSMASQ, ['--keep-in-foreground', `--conf-file=${confPath}`]);
  } catch (error) {
    remove();
    throw error;
  }
  // However it ends, its files go with it.
  void handle.exited.then(remove);
  const log = (): string => handle.output().stderr;
  const reads = (): number => countHostsReads(log(), hostsPath);
  const waitForReads = async (count: number, what: string): Promise<void> => {
    const end = Date.now() + timeoutMs;
    while (reads() < count) {
      if (!handle.running()) throw new Error(`dnsmasq exited ${what}: ${log().trim()}`);
      if (Date.now() > end)
        throw new Error(`dnsmasq did not read ${hostsPath} ${what} within ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  let stopping: Promise<void> | undefined;
  const dnsmasq: DnsmasqHandle = {
    process: handle,
    listen,
    port,
    ttl,
    dir,
    records: () => current,
    async setRecords(records) {
      const text = renderHosts(records);
      if (!handle.running()) throw new Error(`dnsmasq is not running: ${log().trim()}`);
      const before = reads();
      writeFileSync(hostsPath, text, { mode: 0o644 });
      current = { ...records };
      process.kill(handle.pid, 'SIGHUP');
      await waitForReads(before + 1, 'after SIGHUP');
    },
    queries: () => parseDnsmasqQueries(log()),
    stop() {
      stopping ??= handle.stop(1_000).then(remove, (error: unknown) => {
        remove();
        throw error;
      });
      return stopping;
    },
  };
  try {
    await waitForReads(1, 'at start');
  } catch (error) {
    await dnsmasq.stop();
    throw error;
  }
  return dnsmasq;
}
