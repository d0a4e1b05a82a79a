import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from '../../src/cli/_cli-testing.js';
import { createLab, type Lab, type LabOptions, type ProcessHandle } from '../../src/lab/index.js';

export { BIN };

const UPSTREAM = fileURLToPath(new URL('./_upstream.js', import.meta.url));
const CLIENT = fileURLToPath(new URL('./_client.js', import.meta.url));

/** The lab's DNS server, in the outside namespace (an address of its own). */
export const DNS4 = '203.0.113.53';
export const DNS6 = '2001:db8:113::53';
/** The zone dnsmasq answers for with authority (unknown names: NXDOMAIN). */
export const ZONE = 'egress.test';

/** What one test connection through the proxy got. */
export type Outcome =
  | { ok: true; local: string }
  | { ok: false; failure: string; code?: string; message?: string };

/** A connection held open through the proxy (see `_client.ts hold`). */
export interface HeldConnection {
  readonly handle: ProcessHandle;
  /** Where it arrived. */
  readonly local: string;
  /** Ends it and returns what it saw: exchanges made and errors. */
  finish(): Promise<{ event: string; local: string; exchanges: number; sent: number; errors: string[] }>;
}

/** Whether the namespace tests can run here, or why not. */
export function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  return false;
}

/**
 * The lab for the DNS proxy: the namespace lab, the pod's egress interface set up as the router's
 * init container leaves it in `dns-proxy` mode (source address on macvlan0, default route via the
 * node network's gateway), dnsmasq in the outside namespace serving {@link ZONE} from a hosts file
 * with a TTL of 1 s, and the pod's /etc/resolv.conf (`/etc/netns/<pod ns>/resolv.conf`) pointing at
 * it.
 */
export class DnsProxyLab {
  readonly lab: Lab;
  readonly work: string;
  readonly #resolvDir: string;
  #dns: ProcessHandle | undefined;
  #hostsReads = 0;

  private constructor(lab: Lab, work: string) {
    this.lab = lab;
    this.work = work;
    this.#resolvDir = `/etc/netns/${lab.ns.pod}`;
  }

  /**
   * Builds the lab. Everything it makes is removed by {@link DnsProxyLab.destroy}, and at process
   * exit if that was not called.
   *
   * @param options the lab's options (prefix)
   */
  static async create(options: LabOptions): Promise<DnsProxyLab> {
    const lab = await createLab(options);
    const work = mkdtempSync(join(tmpdir(), 'egress-dns-lab-'));
    const dnsLab = new DnsProxyLab(lab, work);
    const cleanup = () => dnsLab.#removeFiles();
    process.once('exit', cleanup);
    try {
      await dnsLab.#setUp();
    } catch (error) {
      await dnsLab.destroy();
      throw error;
    }
    return dnsLab;
  }

  async #setUp(): Promise<void> {
    const { lab } = this;
    const a = lab.addresses;
    await lab.ip('pod', ['addr', 'add', `${a.egressSource4}/24`, 'dev', 'macvlan0']);
    await lab.ip('pod', ['-6', 'addr', 'add', `${a.egressSource6}/64`, 'dev', 'macvlan0', 'nodad']);
    await lab.ip('pod', ['link', 'set', 'macvlan0', 'up']);
    await lab.ip('pod', ['route', 'replace', 'default', 'via', a.gateway4, 'dev', 'macvlan0']);
    await lab.ip('pod', ['-6', 'route', 'replace', 'default', 'via', a.gateway6, 'dev', 'macvlan0']);
    await lab.ip('out', ['addr', 'add', `${DNS4}/24`, 'dev', 'eth0']);
    await lab.ip('out', ['-6', 'addr', 'add', `${DNS6}/64`, 'dev', 'eth0', 'nodad']);
    mkdirSync(this.#resolvDir, { recursive: true });
    writeFileSync(join(this.#resolvDir, 'resolv.conf'), `nameserver ${DNS4}\n`);
    writeFileSync(
      join(this.work, 'dnsmasq.conf'),
      [
        'no-resolv',
        'no-hosts',
        'port=53',
        `listen-address=${DNS4}`,
        'bind-interfaces',
        `addn-hosts=${join(this.work, 'hosts')}`,
        `local=/${ZONE}/`,
        'local-ttl=1',
        'neg-ttl=1',
        'user=root',
        'pid-file=',
        'log-facility=-',
        'log-queries',
        '',
      ].join('\n'),
    );
    this.#writeHosts({});
    await this.startDns();
    await this.#resolveNeighbours();
  }

  /**
   * One ping from the pod to the outside in each family, so that every hop has its neighbour
   * entry before a test runs: the tests give connects 1 s, and a first connect that waits for
   * neighbour discovery hop by hop could, on a loaded machine, lose a solicitation and wait out
   * the kernel's 1 s retransmission (the likely cause of a CI run's first IPv6 relay failing, after
   * 1.09 s, the connect timeout and nothing more).
   */
  async #resolveNeighbours(): Promise<void> {
    const { lab } = this;
    for (const host of [lab.addresses.outside4[0], lab.addresses.outside6[0]]) {
      if (host === undefined) continue;
      if (!(await lab.ping('pod', host, { deadlineSeconds: 5 })))
        throw new Error(`DNS proxy lab: the pod cannot reach ${host}`);
    }
  }

  /** Starts dnsmasq (again) and waits until it answers. */
  async startDns(): Promise<void> {
    const handle = await this.lab.spawnIn('out', 'dnsmasq', [
      `--conf-file=${join(this.work, 'dnsmasq.conf')}`,
      '--keep-in-foreground',
    ]);
    this.#dns = handle;
    this.#hostsReads = 0;
    await handle.waitFor(/started, version/, { stream: 'stderr' });
    await this.#waitHostsRead();
  }

  /** Stops dnsmasq: the DNS server is down (queries get ICMP port unreachable). */
  async stopDns(): Promise<void> {
    await this.#dns?.stop();
    this.#dns = undefined;
  }

  /**
   * Replaces every record of the zone and makes dnsmasq read them (SIGHUP).
   *
   * @param records name (without the zone) to addresses, IPv4 or IPv6
   */
  async setRecords(records: Record<string, readonly string[]>): Promise<void> {
    this.#writeHosts(records);
    if (!this.#dns) return;
    process.kill(this.#dns.pid, 'SIGHUP');
    await this.#waitHostsRead();
  }

  #writeHosts(records: Record<string, readonly string[]>): void {
    const lines = Object.entries(records).flatMap(([name, addresses]) =>
      addresses.map((address) => `${address} ${name}.${ZONE}`),
    );
    writeFileSync(join(this.work, 'hosts'), `${lines.join('\n')}\n`);
  }

  async #waitHostsRead(): Promise<void> {
    const dns = this.#dns;
    if (!dns) return;
    this.#hostsReads++;
    const count = this.#hostsReads;
    await dns.waitFor(new RegExp(`(?:read \\S+hosts[\\s\\S]*?){${count}}`), { stream: 'stderr' });
  }

  /**
   * Starts destination servers in the outside namespace.
   *
   * @param specs `PORT` or `PORT@ADDRESS` (see _upstream.ts)
   */
  async startUpstream(specs: readonly string[]): Promise<ProcessHandle> {
    const handle = await this.lab.spawnIn('out', process.execPath, [UPSTREAM, ...specs]);
    await handle.waitFor(/^ready$/m);
    return handle;
  }

  /**
   * Starts `egress-router dns-proxy` in the pod namespace and waits until it listens.
   *
   * @param env its environment (PATH is added)
   */
  async startProxy(env: Record<string, string>): Promise<ProcessHandle> {
    const handle = await this.lab.spawnIn('pod', process.execPath, [BIN, 'dns-proxy'], {
      // One process (the default follows the CPUs): these tests read one process's logs and state.
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        EGRESS_DNS_PROXY_WORKERS: '1',
        ...env,
      },
    });
    await handle.waitFor(/"event":"started"/, { timeoutMs: 10_000 });
    return handle;
  }

  /**
   * Makes `count` connections, one after the other, from the client namespace to the proxy.
   *
   * @param port the proxy port
   * @param count how many
   * @param host the pod address to connect to (default its IPv4 address)
   */
  async requests(
    port: number,
    count = 1,
    host = this.lab.addresses.pod4,
    timeoutMs = 3_000,
  ): Promise<Outcome[]> {
    const result = await this.lab.exec(
      'client',
      process.execPath,
      [CLIENT, 'requests', host, String(port), String(count), String(timeoutMs)],
      { timeoutMs: count * timeoutMs + 10_000 },
    );
    return (JSON.parse(result.stdout) as { results: Outcome[] }).results;
  }

  /**
   * Opens a connection from the client namespace through the proxy and keeps exchanging lines on it.
   *
   * @param port the proxy port
   * @param intervalMs time between two exchanges
   */
  async hold(port: number, intervalMs = 100): Promise<HeldConnection> {
    const handle = await this.lab.spawnIn('client', process.execPath, [
      CLIENT,
      'hold',
      this.lab.addresses.pod4,
      String(port),
      String(intervalMs),
    ]);
    const hello = await handle.waitFor(/"event":"(hello|closed)"/);
    const first = JSON.parse(hello.split('\n')[0]!) as { event: string; local: string };
    if (first.event !== 'hello') throw new Error(`held connection failed: ${hello}`);
    return {
      handle,
      local: first.local,
      async finish() {
        if (handle.running()) await handle.stop();
        const lines = handle.output().stdout.trim().split('\n');
        return JSON.parse(lines.at(-1)!);
      },
    };
  }

  /**
   * GET on the proxy's admin port, from the client namespace.
   *
   * @param path `/metrics`, `/healthz`, `/readyz`
   */
  async admin(path: string, port = 9091): Promise<{ status: number; body: string }> {
    const url = `http://${this.lab.addresses.pod4}:${port}${path}`;
    const result = await this.lab.exec('client', process.execPath, [CLIENT, 'get', url]);
    return JSON.parse(result.stdout) as { status: number; body: string };
  }

  /** Removes the lab, its processes, its files and the pod's resolv.conf. */
  async destroy(): Promise<void> {
    try {
      await this.lab.destroy();
    } finally {
      this.#removeFiles();
    }
  }

  #removeFiles(): void {
    rmSync(this.#resolvDir, { recursive: true, force: true });
    rmSync(this.work, { recursive: true, force: true });
  }
}

export { jsonLines } from '../../src/lab/index.js';
