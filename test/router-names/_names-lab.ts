import type { ProcessHandle } from '../../src/lab/index.js';
import { BIN, DnsProxyLab, type Outcome, ZONE } from '../dns-proxy/_dns-lab.js';

export { ZONE };

/**
 * The lab for the router's name entries: the DNS proxy's lab (the namespace lab, dnsmasq in the
 * outside namespace serving {@link ZONE} with a TTL of 1 s, the pod's resolv.conf pointing at it,
 * destination servers in the outside namespace), with the router itself in `legacy` mode in the
 * pod (it sets the egress interface up again over what the lab put there: set-up is idempotent).
 */
export class NamesLab {
  readonly dns: DnsProxyLab;
  #router: ProcessHandle | undefined;

  private constructor(dns: DnsProxyLab) {
    this.dns = dns;
  }

  /** Builds the lab; {@link NamesLab.destroy} removes it. */
  static async create(prefix: string): Promise<NamesLab> {
    return new NamesLab(await DnsProxyLab.create({ prefix }));
  }

  get lab() {
    return this.dns.lab;
  }

  /** The router's environment: both families' sources and gateways, and what the test sets. */
  env(extra: Record<string, string>): Record<string, string> {
    const a = this.lab.addresses;
    return {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      EGRESS_SOURCE: `${a.egressSource4}/24,${a.egressSource6}/64`,
      EGRESS_GATEWAY: `${a.gateway4},${a.gateway6}`,
      EGRESS_ROUTER_MODE: 'legacy',
      ...extra,
    };
  }

  /**
   * Starts the router in legacy mode in the pod and waits until it is set up.
   *
   * @param extra EGRESS_DESTINATION or EGRESS_DESTINATION_FILE, and anything else
   */
  async startRouter(extra: Record<string, string>): Promise<ProcessHandle> {
    await this.stopRouter();
    const handle = await this.lab.spawnIn('pod', process.execPath, [BIN], { env: this.env(extra) });
    this.#router = handle;
    await handle.waitFor(/"msg":"egress router set up"/, { timeoutMs: 10_000 });
    return handle;
  }

  /** The router's log lines so far, parsed. */
  routerLog(): Record<string, unknown>[] {
    const out = this.#router?.output().stdout ?? '';
    return out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async stopRouter(): Promise<void> {
    await this.#router?.stop();
    this.#router = undefined;
  }

  /**
   * Connections one after the other from the client namespace to the pod.
   *
   * @param port the pod's port
   * @param count how many
   * @param host the pod address (default IPv4)
   */
  requests(port: number, count: number, host?: string, timeoutMs = 2_000): Promise<Outcome[]> {
    return this.dns.requests(port, count, host, timeoutMs);
  }

  /**
   * Makes the outside namespace refuse (TCP reset) connections to one address and port, or stops
   * refusing them: an address "down" for the health check and for clients alike.
   *
   * @param address the outside address
   * @param port its port
   * @param down refuse (true) or serve again (false)
   */
  async setDown(address: string, port: number, down: boolean): Promise<void> {
    const family = address.includes(':') ? 'ip6' : 'ip';
    if (!down) {
      await this.lab.exec('out', 'nft', ['delete', 'table', 'inet', 'names_test_down'], { check: false });
      return;
    }
    await this.lab.exec('out', 'nft', ['-f', '-'], {
      input: [
        'table inet names_test_down {',
        '  chain input {',
        '    type filter hook input priority filter; policy accept;',
        `    ${family} daddr ${address} tcp dport ${port} reject with tcp reset`,
        '  }',
        '}',
        '',
      ].join('\n'),
    });
  }

  /** Removes the lab and everything in it. */
  async destroy(): Promise<void> {
    await this.stopRouter();
    await this.dns.destroy();
  }
}

/** Where each connection arrived, counted: `{ '203.0.113.25:7001': 6, ... }`; failures as `!reason`. */
export function arrivals(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.ok ? outcome.local : `!${outcome.failure}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export type { Outcome };
