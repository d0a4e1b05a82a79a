import { mkdirSync, mkdtempSync, renameSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, jsonLines, type Lab, type ProcessHandle } from '../../src/lab/index.js';
import type { HttpEcho } from './_servers.js';

/** The CLI as the images run it. */
export const BIN = fileURLToPath(new URL('../../../bin/egress-router', import.meta.url));
const SERVERS = fileURLToPath(new URL('./_servers.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./_relay.js', import.meta.url));
const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';

/** The pod's address on the pod network: where clients reach the proxy. */
export const PROXY4 = '10.128.0.2';
export const PROXY6 = 'fd00:128::2';
export const PROXY_PORT = 8080;
export const ADMIN_PORT = 9090;
/** The egress source: what the outside sees of the proxy. */
export const SOURCE4 = '192.168.12.99';
export const SOURCE6 = '2001:db8:12::99';
/** The lab's DNS server (dnsmasq), in the outside namespace. */
export const DNS4 = '203.0.113.53';
/** An address no policy should reach: routed to a server in the outside namespace, so that a proxy that let a request through would get an answer. */
export const PRIVATE4 = '192.168.1.1';
/** The same address, NAT64-embedded, also on the outside server. */
export const NAT64_PRIVATE = '64:ff9b::c0a8:101';
/** Addresses the gateway answers with ICMP unreachable, and silently drops. */
export const UNREACHABLE4 = '198.51.100.1';
export const BLACKHOLE4 = '198.51.100.129';

/** The names dnsmasq serves (and nothing else under .test: NXDOMAIN). */
/** A name only the pod's hosts file knows (as Kubernetes hostAliases write it), and its address. */
export const HOSTS_ONLY_NAME = 'hosts-only.test';
export const HOSTS_ONLY_ADDRESS = '203.0.113.25';

export const RECORDS: Readonly<Record<string, readonly string[]>> = {
  'allowed.test': ['203.0.113.25'],
  'www.allowed.test': ['203.0.113.25'],
  'denied.test': ['203.0.113.26'],
  'into-denied.test': ['203.0.113.27'],
  'both.test': ['203.0.113.25', '203.0.113.27'],
  'v6.test': ['2001:db8:113::25'],
  'dual.test': ['203.0.113.26', '2001:db8:113::26'],
  'example.test': ['203.0.113.25'],
  'www.example.test': ['203.0.113.25'],
  'deep.www.example.test': ['203.0.113.25'],
  'notexample.test': ['203.0.113.25'],
  'private.test': [PRIVATE4],
  'nat64.test': [NAT64_PRIVATE],
  'mapped.test': [`::ffff:${PRIVATE4}`],
  'self.test': [PROXY4],
  'egress-self.test': [SOURCE4],
  'loopback.test': ['127.0.0.1'],
  'unreachable.test': [UNREACHABLE4],
  'blackhole.test': [BLACKHOLE4],
};

/** Whether the namespace tests can run here, or why not. */
export function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  return false;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One JSON log line of the proxy. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A running `egress-router http-proxy`. */
export interface RunningProxy {
  readonly handle: ProcessHandle;
  /** Every JSON line it printed on stdout so far. */
  logs(): LogLine[];
  /** The request and tunnel lines (one per request), in order. */
  requestLogs(): LogLine[];
  /** Waits for the request or tunnel line number `index` (from 0); returns it. */
  requestLog(index: number, timeoutMs?: number): Promise<LogLine>;
  /** Waits until a log line matches; returns it. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(): Promise<void>;
}

/** What curl got. */
export interface CurlResult {
  /** curl's exit code (0, or 7 refused, 28 timeout, 52 empty reply, 56 receive failure...). */
  readonly code: number;
  readonly status: number;
  /** The CONNECT response status with -p, else 0. */
  readonly connectStatus: number;
  readonly body: string;
  readonly stderr: string;
}

/**
 * The lab for the HTTP proxy: the namespace lab with the pod set up by the router in `http-proxy`
 * mode (source 192.168.12.99 and 2001:db8:12::99 on macvlan0, default routes via the node network's
 * gateway, SNAT) - the real deployment; destination servers on every outside address; dnsmasq in
 * the outside namespace serving {@link RECORDS}, with the pod's resolv.conf pointing at it; and a
 * relay in the client namespace for raw connections.
 */
export class ProxyLab {
  readonly lab: Lab;
  readonly work: string;
  readonly relayPath: string;
  readonly #resolvDir: string;
  #dns: ProcessHandle | undefined;
  readonly #proxies = new Set<RunningProxy>();

  private constructor(lab: Lab, work: string) {
    this.lab = lab;
    this.work = work;
    this.relayPath = join(work, 'relay.sock');
    this.#resolvDir = `/etc/netns/${lab.ns.pod}`;
  }

  /**
   * Builds the lab; {@link ProxyLab.destroy} removes everything, also at process exit.
   *
   * @param tag a few letters naming the test file (the namespaces are `hp<tag><pid>-<role>`)
   */
  static async create(tag: string): Promise<ProxyLab> {
    const lab = await createLab({ prefix: `hp${tag}${process.pid}` });
    const work = mkdtempSync(join(tmpdir(), 'egress-http-proxy-lab-'));
    const proxyLab = new ProxyLab(lab, work);
    const cleanup = () => proxyLab.#removeFiles();
    process.once('exit', cleanup);
    try {
      await proxyLab.#setUp();
    } catch (error) {
      await proxyLab.destroy();
      throw error;
    }
    return proxyLab;
  }

  async #setUp(): Promise<void> {
    const { lab } = this;
    const router = await lab.exec('pod', process.execPath, [BIN], {
      env: {
        PATH,
        EGRESS_ROUTER_MODE: 'http-proxy',
        EGRESS_SOURCE: `${SOURCE4}/24,${SOURCE6}/64`,
        EGRESS_GATEWAY: `${lab.addresses.gateway4},${lab.addresses.gateway6}`,
      },
      check: false,
      timeoutMs: 15_000,
    });
    if (router.code !== 0) throw new Error(`router set-up failed: ${router.stderr}`);
    // The outside holds the DNS server, a private address and its NAT64 form; the gateway routes
    // them there, and answers for two test ranges itself: unreachable, and silence.
    await lab.ip('out', ['addr', 'add', `${DNS4}/24`, 'dev', 'eth0']);
    await lab.ip('out', ['addr', 'add', `${PRIVATE4}/32`, 'dev', 'eth0']);
    await lab.ip('out', ['-6', 'addr', 'add', `${NAT64_PRIVATE}/128`, 'dev', 'eth0', 'nodad']);
    await lab.ip('gw', ['route', 'add', `${PRIVATE4}/32`, 'via', lab.addresses.outside4[0]!]);
    await lab.ip('gw', ['-6', 'route', 'add', '64:ff9b::/96', 'via', lab.addresses.outside6[0]!]);
    await lab.ip('gw', ['route', 'add', 'unreachable', '198.51.100.0/25']);
    await lab.ip('gw', ['route', 'add', 'blackhole', '198.51.100.128/25']);

    mkdirSync(this.#resolvDir, { recursive: true });
    // A search list and ndots as in a Kubernetes pod: the proxy must not expand names with it.
    writeFileSync(
      join(this.#resolvDir, 'resolv.conf'),
      `nameserver ${DNS4}\nsearch www.example.test\noptions ndots:5 timeout:2 attempts:1\n`,
    );
    // ip netns exec also mounts /etc/netns/<ns>/hosts over /etc/hosts: a hostAliases-like entry.
    writeFileSync(
      join(this.#resolvDir, 'hosts'),
      `127.0.0.1 localhost\n${HOSTS_ONLY_ADDRESS} ${HOSTS_ONLY_NAME}\n`,
    );
    const hosts = Object.entries(RECORDS).flatMap(([name, addresses]) =>
      addresses.map((a) => `${a} ${name}`),
    );
    writeFileSync(join(this.work, 'hosts'), `${hosts.join('\n')}\n`);
    this.#dns = await lab.spawnIn('out', 'dnsmasq', [
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--port=53',
      `--listen-address=${DNS4}`,
      '--bind-interfaces',
      `--addn-hosts=${join(this.work, 'hosts')}`,
      '--local=/test/',
      '--user=root',
      '--pid-file=',
      '--log-facility=-',
      '--log-queries',
    ]);
    await this.#dns.waitFor(/read \S+hosts/, { stream: 'stderr' });

    const servers = await lab.spawnIn('out', process.execPath, [SERVERS, 'serve']);
    await servers.waitFor(/^ready$/m);
    await lab.startEcho({ tcp: [443, 9000] });
    const relay = await lab.spawnIn('client', process.execPath, [RELAY, 'serve', this.relayPath]);
    await relay.waitFor(/^ready$/m);
  }

  /** How many reverse (PTR) queries dnsmasq has seen. */
  ptrQueries(): number {
    return (this.#dns?.output().stderr ?? '').split('\n').filter((line) => line.includes('query[PTR]'))
      .length;
  }

  /** How many A queries for `name` dnsmasq has seen. */
  queries(name: string): number {
    const text = this.#dns?.output().stderr ?? '';
    return text.split('\n').filter((line) => line.includes(`query[A] ${name} from`)).length;
  }

  /**
   * Starts `egress-router http-proxy` in the pod namespace, as the image does, and waits until it
   * listens. Stopped by {@link ProxyLab.destroy} if the test does not stop it.
   *
   * @param env its environment (PATH is added)
   */
  async startProxy(env: Record<string, string>): Promise<RunningProxy> {
    const handle = await this.lab.spawnIn('pod', process.execPath, [BIN, 'http-proxy'], {
      // One process (the default follows the CPUs): these tests read one process's logs and state.
      env: { PATH, EGRESS_HTTP_PROXY_WORKERS: '1', ...env },
    });
    await handle.waitFor(/egress HTTP proxy listening/, { timeoutMs: 10_000 });
    const logs = (): LogLine[] => jsonLines<LogLine>(handle);
    const proxy: RunningProxy = {
      handle,
      logs,
      requestLogs: () => logs().filter((line) => line.msg === 'request' || line.msg === 'tunnel'),
      async requestLog(index, timeoutMs = 5_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const line = proxy.requestLogs()[index];
          if (line) return line;
          if (Date.now() > deadline) {
            throw new Error(`no request log line ${index} within ${timeoutMs} ms: ${handle.output().stdout}`);
          }
          await sleep(20);
        }
      },
      async waitForLog(match, timeoutMs = 5_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = logs().find(match);
          if (found) return found;
          if (Date.now() > deadline || !handle.running()) {
            throw new Error(`no such log line within ${timeoutMs} ms: ${handle.output().stdout}`);
          }
          await sleep(20);
        }
      },
      stop: async () => {
        await handle.stop();
        this.#proxies.delete(proxy);
      },
    };
    this.#proxies.add(proxy);
    return proxy;
  }

  /**
   * Runs curl in the client namespace through the proxy.
   *
   * @param args curl arguments after the proxy options (the URL, -p to tunnel, -X, -H...)
   * @param options the proxy to use (default the pod's IPv4 address and port 8080), curl's time limit
   */
  async curl(
    args: readonly string[],
    options: { proxy?: string; maxTimeS?: number } = {},
  ): Promise<CurlResult> {
    const marker = '\n--curl--';
    const result = await this.lab.exec(
      'client',
      'curl',
      [
        '-sS',
        '--noproxy',
        '',
        '-x',
        options.proxy ?? `http://${PROXY4}:${PROXY_PORT}`,
        '--max-time',
        String(options.maxTimeS ?? 10),
        '-w',
        `${marker}%{http_code} %{http_connect}`,
        ...args,
      ],
      { check: false, timeoutMs: ((options.maxTimeS ?? 10) + 5) * 1000 },
    );
    const at = result.stdout.lastIndexOf(marker);
    const [status = '0', connectStatus = '0'] = result.stdout.slice(at + marker.length).split(' ');
    return {
      code: result.code ?? -1,
      status: Number(status),
      connectStatus: Number(connectStatus),
      body: at === -1 ? result.stdout : result.stdout.slice(0, at),
      stderr: result.stderr,
    };
  }

  /** curl through the proxy, expecting the HTTP echo's JSON. */
  async curlEcho(args: readonly string[]): Promise<HttpEcho> {
    const result = await this.curl(args);
    if (result.status !== 200)
      throw new Error(`expected 200, got ${result.status}: ${result.body} ${result.stderr}`);
    return JSON.parse(result.body) as HttpEcho;
  }

  /**
   * Opens a TCP connection from the client namespace (through the relay).
   *
   * @param host where to (default the proxy)
   * @param port which port (default the proxy port)
   */
  connect(host = PROXY4, port = PROXY_PORT): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path: this.relayPath, allowHalfOpen: true });
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const newline = head.indexOf('\n');
        if (newline === -1) return;
        socket.off('data', onData);
        socket.off('error', reject);
        const line = head.subarray(0, newline).toString();
        if (line !== 'ok') {
          socket.destroy();
          reject(new Error(`relay: ${line}`));
          return;
        }
        resolve(new Conn(socket, head.subarray(newline + 1)));
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(`${host} ${port}\n`);
    });
  }

  /**
   * Sends raw bytes to the proxy on a new connection and reads one response.
   *
   * @param request the request, exactly as sent
   */
  async raw(request: string | Buffer, timeoutMs = 5_000): Promise<RawResponse> {
    const conn = await this.connect();
    try {
      conn.write(request);
      return await conn.readResponse(timeoutMs);
    } finally {
      conn.destroy();
    }
  }

  /**
   * GET on the proxy's admin port, from the client namespace.
   *
   * @param path `/metrics`, `/healthz`, `/readyz`
   */
  async admin(path: string, port = ADMIN_PORT): Promise<{ status: number; body: string }> {
    const result = await this.lab.exec(
      'client',
      'curl',
      ['-sS', '--noproxy', '*', '--max-time', '5', '-w', '\n%{http_code}', `http://${PROXY4}:${port}${path}`],
      { check: false },
    );
    const at = result.stdout.lastIndexOf('\n');
    return { status: Number(result.stdout.slice(at + 1)), body: result.stdout.slice(0, at) };
  }

  /** Stops every proxy, removes the lab, its processes, its files and the pod's resolv.conf. */
  async destroy(): Promise<void> {
    try {
      await Promise.all([...this.#proxies].map((proxy) => proxy.stop()));
      await this.lab.destroy();
    } finally {
      this.#removeFiles();
    }
  }

  #removeFiles(): void {
    rmSync(this.#resolvDir, { recursive: true, force: true });
    try {
      rmdirSync('/etc/netns'); // only when empty: other labs may use it
    } catch {
      // Not empty, or gone.
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}

/**
 * A directory laid out as the kubelet lays out a mounted ConfigMap: `..<timestamp>/destination`,
 * `..data` -> `..<timestamp>`, `destination` -> `..data/destination`. `update` swaps `..data`
 * atomically, as the kubelet does; `break` points it at a directory without the file.
 */
export function configMapDir(initial: string) {
  const dir = mkdtempSync(join(tmpdir(), 'egress-http-proxy-cm-'));
  let generation = 0;
  const swap = (text: string | undefined) => {
    const version = `..2026_11_26_00_00_${String(generation++).padStart(2, '0')}`;
    mkdirSync(join(dir, version));
    if (text !== undefined) writeFileSync(join(dir, version, 'destination'), text);
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  swap(initial);
  symlinkSync('..data/destination', join(dir, 'destination'));
  return {
    path: join(dir, 'destination'),
    update: (text: string) => swap(text),
    break: () => swap(undefined),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A response read off a raw connection. */
export interface RawResponse {
  readonly status: number;
  /** The status line. */
  readonly statusLine: string;
  /** Header names in lower case; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A raw TCP connection from the client namespace, with a receive buffer. */
export class Conn {
  readonly socket: Socket;
  #buffer: Buffer;
  #ended = false;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(socket: Socket, initial: Buffer) {
    this.socket = socket;
    this.#buffer = initial;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#notify();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#notify();
    });
    socket.on('error', () => {});
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** True once the other side has closed its direction (FIN) or the connection is gone. */
  get ended(): boolean {
    return this.#ended || this.#closed;
  }

  /** Everything received and not yet consumed. */
  get pending(): string {
    return this.#buffer.toString('latin1');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Half-closes: sends FIN, keeps reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Waits until `ready()` returns a value, the other side closes, or the time is up. */
  #until<T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = ready();
        if (value !== undefined) {
          done();
          resolve(value);
        } else if (this.ended) {
          done();
          reject(new Error(`connection closed before ${what}; received ${JSON.stringify(this.pending)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.pending)}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Reads (and consumes) `count` bytes. */
  read(count: number, timeoutMs = 5_000): Promise<string> {
    return this.#until(
      () => {
        if (this.#buffer.length < count) return undefined;
        const text = this.#buffer.subarray(0, count).toString('latin1');
        this.#buffer = this.#buffer.subarray(count);
        return text;
      },
      timeoutMs,
      `${count} bytes`,
    );
  }

  /** Reads (and consumes) up to and including `marker`. */
  readUntil(marker: string, timeoutMs = 5_000): Promise<string> {
    return this.#until(
      () => {
        const at = this.#buffer.indexOf(marker, 0, 'latin1');
        if (at === -1) return undefined;
        const end = at + Buffer.byteLength(marker, 'latin1');
        const text = this.#buffer.subarray(0, end).toString('latin1');
        this.#buffer = this.#buffer.subarray(end);
        return text;
      },
      timeoutMs,
      JSON.stringify(marker),
    );
  }

  /**
   * Waits until the other side closes the connection; returns what was left unread, or undefined
   * if it stayed open for `timeoutMs`.
   */
  async closed(timeoutMs: number): Promise<string | undefined> {
    const start = Date.now();
    while (!this.ended) {
      if (Date.now() - start > timeoutMs) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, timeoutMs - (Date.now() - start)));
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        this.#waiters.add(wake);
      });
    }
    const rest = this.pending;
    this.#buffer = Buffer.alloc(0);
    return rest;
  }

  /** Reads one response head (without its body): the status, its line, the headers lower-cased. */
  async readHead(timeoutMs = 5_000): Promise<Omit<RawResponse, 'body'>> {
    const head = await this.readUntil('\r\n\r\n', timeoutMs);
    const [statusLine = '', ...lines] = head.slice(0, -4).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    return { status: Number(statusLine.split(' ')[1]), statusLine, headers };
  }

  /** Reads one HTTP response: the head, then the body by Content-Length, chunked, or until close. */
  async readResponse(timeoutMs = 5_000): Promise<RawResponse> {
    const { status, statusLine, headers } = await this.readHead(timeoutMs);
    let body = '';
    if (headers['content-length'] !== undefined) {
      body = await this.read(Number(headers['content-length']), timeoutMs);
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      for (;;) {
        const size = Number.parseInt(await this.readUntil('\r\n', timeoutMs), 16);
        if (size === 0) {
          await this.readUntil('\r\n', timeoutMs);
          break;
        }
        body += await this.read(size, timeoutMs);
        await this.read(2, timeoutMs);
      }
    } else if (status >= 200 && status !== 204 && status !== 304) {
      body = (await this.closed(timeoutMs)) ?? '';
    }
    return { status, statusLine, headers, body };
  }
}

/** The echo's headers as a map (lower-case names; repeated ones joined). */
export function echoHeaders(echo: HttpEcho): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of echo.headers) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 2);
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

/** A CONNECT request for `authority`. */
export function connectRequest(authority: string, extraHeaders = ''): string {
  return `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extraHeaders}\r\n`;
}

/** A proxied GET for an absolute URI; Host is the URI's authority unless given. */
export function getRequest(uri: string, host?: string, extraHeaders = ''): string {
  const authority = uri.replace(/^[a-z]+:\/\//i, '').split(/[/?#]/)[0];
  return `GET ${uri} HTTP/1.1\r\nHost: ${host ?? authority}\r\n${extraHeaders}Connection: close\r\n\r\n`;
}
