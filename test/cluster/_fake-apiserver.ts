/**
 * A protocol fake of the Kubernetes API server, for the Kubernetes object source's tests: a real
 * `node:http` server on 127.0.0.1 (port 0) that speaks the list/watch wire protocol for the five
 * collections the node agent reads, and nothing else. It is not an API server: no validation, no
 * admission, no discovery, no field or label selectors, no protobuf. What it does keep is what a
 * list+watch client depends on:
 *
 * - one resource version counter for every kind (etcd's revision): every change takes the next
 *   number, written into the object's `metadata.resourceVersion`;
 * - `GET <path>` answers `{kind: "<Kind>List", apiVersion, metadata: {resourceVersion}, items}`
 *   (items of the core kinds without `kind`/`apiVersion`, as the real server sends them; the
 *   network kinds, served by CRDs on plain Kubernetes, with them);
 * - `limit=N` pages a list: the answer holds N items and `metadata.continue` while more are left;
 *   `continue=<token>` gives the next page from the first page's snapshot (its resource version),
 *   or `410 Gone` (Expired, the real server's message) once the history was compacted past it or
 *   `continueExpires` is set;
 * - `GET <path>?watch=true&resourceVersion=N` (or `watch=1`) streams newline-delimited JSON events
 *   `{type, object}` (chunked) of the changes after N, then the live ones; without N (or `0`) it
 *   starts with an ADDED event for every object;
 * - a resource version older than the compaction point answers `410 Gone`: as the HTTP status, or
 *   as an ERROR event carrying a `Status` with code 410 (the watch cache's way), chosen by
 *   `goneAs`;
 * - BOOKMARK events to watches that asked for them (`allowWatchBookmarks=true`), on request.
 *
 * Leases (one namespace) are also written, as the node agent writes them: `POST` to the
 * collection creates (409 AlreadyExists when the name is taken), `PUT <path>/<name>` replaces only
 * when the body's `metadata.resourceVersion` is the stored one (409 Conflict otherwise: optimistic
 * concurrency), `GET <path>/<name>` reads one.
 *
 * Test hooks change objects, drop or end every open watch, compact the history, make a kind not
 * served (404, as a CRD that is not installed) and fail requests with a status.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** The collections served, by kind. */
export const FAKE_RESOURCES = {
  Namespace: { path: '/api/v1/namespaces', apiVersion: 'v1', namespaced: false },
  Pod: { path: '/api/v1/pods', apiVersion: 'v1', namespaced: true },
  EgressNetworkPolicy: {
    path: '/apis/network.openshift.io/v1/egressnetworkpolicies',
    apiVersion: 'network.openshift.io/v1',
    namespaced: true,
  },
  NetNamespace: {
    path: '/apis/network.openshift.io/v1/netnamespaces',
    apiVersion: 'network.openshift.io/v1',
    namespaced: false,
  },
  HostSubnet: {
    path: '/apis/network.openshift.io/v1/hostsubnets',
    apiVersion: 'network.openshift.io/v1',
    namespaced: false,
  },
  /** The node Leases, in one namespace only ({@link FAKE_LEASE_NAMESPACE}): the only kind written. */
  Lease: {
    path: '/apis/coordination.k8s.io/v1/namespaces/egress-router/leases',
    apiVersion: 'coordination.k8s.io/v1',
    namespaced: true,
  },
} as const;

/** The one namespace whose Leases the fake serves. */
export const FAKE_LEASE_NAMESPACE = 'egress-router';

export type FakeKind = keyof typeof FAKE_RESOURCES;

/** An object as stored: any JSON with `metadata.name` (and `metadata.namespace` when namespaced). */
export type FakeObject = {
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

/** One request the fake answered. */
export interface FakeRequest {
  readonly kind: FakeKind | undefined;
  readonly path: string;
  readonly watch: boolean;
  /** The `resourceVersion` parameter, when given. */
  readonly resourceVersion: string | undefined;
  readonly allowWatchBookmarks: boolean;
  /** The `limit` and `continue` parameters of a list, when given. */
  readonly limit: string | undefined;
  readonly continue: string | undefined;
  readonly authorization: string | undefined;
  /** The HTTP status answered. */
  readonly status: number;
}

/** A failure to answer with: the next `times` requests that match get `status`. */
export interface FakeFailure {
  readonly kind?: FakeKind;
  /** Only watches (true), only lists (false), or both (absent). */
  readonly watch?: boolean;
  readonly status: number;
  /** The Status message (default: one that names the path and status). */
  readonly message?: string;
  readonly times?: number;
}

interface HistoryEntry {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: FakeObject;
}

interface OpenWatch {
  readonly kind: FakeKind;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
}

/** The real API server's message for a continue token past the compaction. */
const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** The fake server; see the file's comment. */
export class FakeApiServer {
  /** Every request answered, in order. */
  readonly requests: FakeRequest[] = [];
  /** How a too old resource version is refused on a watch: HTTP 410, or an ERROR event in a 200 stream. */
  goneAs: 'status' | 'event' = 'status';
  /** After an ERROR event, end the stream (as the real server does) or leave it open. */
  endAfterErrorEvent = true;
  /** When set, requests must carry `Authorization: Bearer <token>` (401 otherwise). */
  token: string | undefined;
  /** Refuse every continue token with 410 (as after a compaction between two pages). */
  continueExpires = false;

  #server: Server | import('node:https').Server | undefined;
  readonly #extra: Server[] = [];
  #url = '';
  #rv = 1;
  #compactedRv = 0;
  readonly #objects = new Map<FakeKind, Map<string, FakeObject>>();
  readonly #history = new Map<FakeKind, HistoryEntry[]>();
  readonly #watches = new Set<OpenWatch>();
  readonly #absent = new Set<FakeKind>();
  readonly #failures: { failure: FakeFailure; left: number }[] = [];
  /** The rest of a paged list, by its continue token: the snapshot's resource version and items. */
  readonly #pages = new Map<string, { rv: number; items: unknown[] }>();
  #uid = 0;

  constructor() {
    for (const kind of Object.keys(FAKE_RESOURCES) as FakeKind[]) {
      this.#objects.set(kind, new Map());
      this.#history.set(kind, []);
    }
  }

  /**
   * Listens on 127.0.0.1 (or the address given), port 0: plain HTTP, or HTTPS with a key and
   * certificate (PEM).
   *
   * @param tls the server's key and certificate, for HTTPS
   * @param host the address to listen on (a lab namespace's, from a process started there)
   */
  async listen(tls?: { readonly key: string; readonly cert: string }, host = '127.0.0.1'): Promise<void> {
    const handle = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    const server = tls === undefined ? createServer(handle) : createTlsServer(tls, handle);
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const shown = host.includes(':') ? `[${host}]` : host;
    this.#url = `${tls === undefined ? 'http' : 'https'}://${shown}:${(server.address() as AddressInfo).port}`;
  }

  /**
   * Answers on a Unix socket too (plain HTTP): a test process outside the lab's namespaces reaches
   * a fake started in one of them there. Closed with the server.
   *
   * @param path the socket's path
   */
  async listenUnix(path: string): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    this.#extra.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
  }

  /** `http://127.0.0.1:<port>` (or `https://`). */
  get url(): string {
    return this.#url;
  }

  /** The current resource version (the last change's). */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Open watch connections, of one kind or all. */
  openWatches(kind?: FakeKind): number {
    return [...this.#watches].filter((w) => kind === undefined || w.kind === kind).length;
  }

  /** The requests of one kind, lists or watches. */
  requestsOf(kind: FakeKind, watch: boolean): FakeRequest[] {
    return this.requests.filter((r) => r.kind === kind && r.watch === watch);
  }

  /**
   * Creates or replaces an object (ADDED or MODIFIED to open watches).
   *
   * @returns the stored object, with its new resourceVersion
   */
  put(kind: FakeKind, object: FakeObject): FakeObject {
    const objects = this.#objects.get(kind)!;
    const key = keyOf(object);
    const old = objects.get(key);
    const rv = ++this.#rv;
    const stored: FakeObject = structuredClone(object);
    stored.metadata = {
      ...stored.metadata,
      resourceVersion: String(rv),
      uid: (old?.metadata.uid as string | undefined) ?? `uid-${++this.#uid}`,
    };
    objects.set(key, stored);
    this.#record(kind, { rv, type: old === undefined ? 'ADDED' : 'MODIFIED', object: stored });
    return stored;
  }

  /** Deletes an object (DELETED to open watches). Throws when it is not there. */
  remove(kind: FakeKind, name: string, namespace?: string): void {
    const objects = this.#objects.get(kind)!;
    const key = namespace === undefined ? name : `${namespace}/${name}`;
    const old = objects.get(key);
    if (old === undefined) throw new Error(`fake apiserver: no ${kind} ${key}`);
    objects.delete(key);
    const rv = ++this.#rv;
    this.#record(kind, {
      rv,
      type: 'DELETED',
      object: { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } },
    });
  }

  /** Sends a BOOKMARK with the current resource version to the open watches (of a kind) that asked for them. */
  bookmark(kind?: FakeKind): void {
    for (const watch of this.#watches) {
      if ((kind === undefined || watch.kind === kind) && watch.bookmarks) {
        const { apiVersion } = FAKE_RESOURCES[watch.kind];
        send(watch.res, 'BOOKMARK', {
          kind: watch.kind,
          apiVersion,
          metadata: { resourceVersion: String(this.#rv) },
        });
      }
    }
  }

  /** Forgets the history up to now: watches from an older resource version are refused with 410. */
  compact(): void {
    this.#compactedRv = this.#rv;
    for (const history of this.#history.values()) history.length = 0;
  }

  /**
   * Closes every open watch (of a kind).
   *
   * @param how `destroy`: the connection is cut mid-stream; `end`: the response ends cleanly
   */
  dropWatches(how: 'destroy' | 'end' = 'destroy', kind?: FakeKind): void {
    for (const watch of [...this.#watches]) {
      if (kind !== undefined && watch.kind !== kind) continue;
      this.#watches.delete(watch);
      if (how === 'end') watch.res.end();
      else watch.res.socket?.destroy();
    }
  }

  /** Serves a kind again, or stops serving it (404 to lists and watches, open watches ended). */
  setServed(kind: FakeKind, served: boolean): void {
    if (served) {
      this.#absent.delete(kind);
    } else {
      this.#absent.add(kind);
      this.dropWatches('end', kind);
    }
  }

  /** Fails the next matching requests with a status (a `Status` body, as the real server sends). */
  fail(failure: FakeFailure): void {
    this.#failures.push({ failure, left: failure.times ?? 1 });
  }

  /** Ends every connection and stops listening. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#watches.clear();
    for (const extra of this.#extra) {
      extra.closeAllConnections();
      extra.close();
    }
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #record(kind: FakeKind, entry: HistoryEntry): void {
    this.#history.get(kind)!.push(entry);
    for (const watch of this.#watches) {
      if (watch.kind === kind) send(watch.res, entry.type, withType(kind, entry.object));
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' || req.method === undefined) {
      this.#answer(req, res, undefined);
      return;
    }
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => this.#answer(req, res, text));
  }

  #answer(req: IncomingMessage, res: ServerResponse, bodyText: string | undefined): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const kinds = Object.keys(FAKE_RESOURCES) as FakeKind[];
    let item: string | undefined;
    let kind = kinds.find((k) => FAKE_RESOURCES[k].path === url.pathname);
    if (kind === undefined) {
      kind = kinds.find((k) => k === 'Lease' && url.pathname.startsWith(`${FAKE_RESOURCES[k].path}/`));
      if (kind !== undefined)
        item = decodeURIComponent(url.pathname.slice(FAKE_RESOURCES[kind].path.length + 1));
    }
    const watchParam = url.searchParams.get('watch');
    const watch = watchParam === 'true' || watchParam === '1';
    const rvParam = url.searchParams.get('resourceVersion') ?? undefined;
    const answer = (status: number) => {
      this.requests.push({
        kind,
        path: url.pathname,
        watch,
        resourceVersion: rvParam,
        allowWatchBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
        limit: url.searchParams.get('limit') ?? undefined,
        continue: url.searchParams.get('continue') ?? undefined,
        authorization: req.headers.authorization,
        status,
      });
      return status;
    };
    const writing = req.method === 'POST' || req.method === 'PUT';
    const allowed =
      (req.method === 'GET' && (item === undefined || kind === 'Lease')) ||
      (req.method === 'POST' && kind === 'Lease' && item === undefined) ||
      (req.method === 'PUT' && item !== undefined);
    if (!allowed) {
      sendStatus(res, answer(405), 'MethodNotAllowed', `${req.method} ${url.pathname} is not faked`);
      return;
    }
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      sendStatus(res, answer(401), 'Unauthorized', 'Unauthorized');
      return;
    }
    if (kind === undefined || this.#absent.has(kind)) {
      sendStatus(res, answer(404), 'NotFound', 'the server could not find the requested resource');
      return;
    }
    const failing = this.#failures.find(
      ({ failure }) =>
        (failure.kind === undefined || failure.kind === kind) &&
        (failure.watch === undefined || failure.watch === watch),
    );
    if (failing !== undefined) {
      failing.left -= 1;
      if (failing.left <= 0) this.#failures.splice(this.#failures.indexOf(failing), 1);
      const { status, message } = failing.failure;
      sendStatus(
        res,
        answer(status),
        REASONS[status] ?? 'Failure',
        message ?? `${url.pathname} refused by the test`,
      );
      return;
    }
    if (kind === 'Lease' && (writing || item !== undefined)) {
      this.#writeLease(res, answer, req.method ?? 'GET', item, bodyText);
      return;
    }
    const objects = [...this.#objects.get(kind)!.values()];
    if (!watch) {
      this.#list(res, answer, kind, url.searchParams);
      return;
    }
    const from = rvParam === undefined || rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    const tooOld = from !== undefined && (!Number.isInteger(from) || from < this.#compactedRv);
    if (tooOld && this.goneAs === 'status') {
      sendStatus(res, answer(410), 'Expired', `too old resource version: ${rvParam} (${this.#compactedRv})`);
      return;
    }
    answer(200);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (tooOld) {
      send(
        res,
        'ERROR',
        statusObject(410, 'Expired', `too old resource version: ${rvParam} (${this.#compactedRv})`),
      );
      if (this.endAfterErrorEvent) {
        res.end();
        return;
      }
    } else if (from === undefined) {
      for (const object of objects) send(res, 'ADDED', withType(kind, object));
    } else {
      for (const entry of this.#history.get(kind)!) {
        if (entry.rv > from) send(res, entry.type, withType(kind, entry.object));
      }
    }
    const open: OpenWatch = { kind, res, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    if (tooOld) {
      // Left open after its ERROR event: gets nothing more.
      res.on('close', () => this.#watches.delete(open));
      return;
    }
    this.#watches.add(open);
    res.on('close', () => this.#watches.delete(open));
  }

  /** A list, whole or a page of it (see the file's comment). */
  #list(
    res: ServerResponse,
    answer: (status: number) => number,
    kind: FakeKind,
    query: URLSearchParams,
  ): void {
    const { apiVersion } = FAKE_RESOURCES[kind];
    const token = query.get('continue');
    let rv = this.#rv;
    let items: unknown[];
    if (token !== null) {
      const rest = this.#pages.get(token);
      if (rest === undefined || this.continueExpires || rest.rv < this.#compactedRv) {
        sendStatus(res, answer(410), 'Expired', CONTINUE_EXPIRED);
        return;
      }
      this.#pages.delete(token);
      rv = rest.rv;
      items = rest.items;
    } else {
      const objects = [...this.#objects.get(kind)!.values()];
      items = apiVersion === 'v1' ? objects : objects.map((o) => withType(kind, o));
    }
    const limit = Number(query.get('limit') ?? 0);
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const next = `${kind}-${rv}-${++this.#uid}`;
      this.#pages.set(next, { rv, items: items.slice(limit) });
      metadata.continue = next;
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    answer(200);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: `${kind}List`, apiVersion, metadata, items }));
  }

  /** A Lease read, created or replaced (see the file's comment). */
  #writeLease(
    res: ServerResponse,
    answer: (status: number) => number,
    method: string,
    name: string | undefined,
    bodyText: string | undefined,
  ): void {
    const leases = this.#objects.get('Lease')!;
    const key = (n: string) => `${FAKE_LEASE_NAMESPACE}/${n}`;
    if (method === 'GET') {
      const stored = name === undefined ? undefined : leases.get(key(name));
      if (stored === undefined) {
        sendStatus(res, answer(404), 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
        return;
      }
      answer(200);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(withType('Lease', stored)));
      return;
    }
    let body: FakeObject;
    try {
      body = JSON.parse(bodyText ?? '') as FakeObject;
      if (typeof body.metadata?.name !== 'string') throw new Error('no name');
    } catch {
      sendStatus(res, answer(400), 'BadRequest', 'the body is not a Lease');
      return;
    }
    const target = name ?? body.metadata.name;
    const old = leases.get(key(target));
    if (method === 'POST' && old !== undefined) {
      sendStatus(res, answer(409), 'AlreadyExists', `leases.coordination.k8s.io "${target}" already exists`);
      return;
    }
    if (method === 'PUT' && old === undefined) {
      sendStatus(res, answer(404), 'NotFound', `leases.coordination.k8s.io "${target}" not found`);
      return;
    }
    if (method === 'PUT' && body.metadata.resourceVersion !== old?.metadata.resourceVersion) {
      sendStatus(
        res,
        answer(409),
        'Conflict',
        `Operation cannot be fulfilled on leases.coordination.k8s.io "${target}": the object has been modified; please apply your changes to the latest version and try again`,
      );
      return;
    }
    const { kind: _kind, apiVersion: _apiVersion, ...rest } = body;
    const stored = this.put('Lease', {
      ...rest,
      metadata: { ...body.metadata, namespace: FAKE_LEASE_NAMESPACE },
    });
    const status = method === 'POST' ? 201 : 200;
    answer(status);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(withType('Lease', stored)));
  }
}

/**
 * A kubeconfig that points to a server, optionally with a bearer token. An `https:` server is
 * trusted through `certificate-authority-data` (the CA given); an `http:` one gets
 * `insecure-skip-tls-verify`, which the client library requires for plain HTTP.
 *
 * @param server the fake's URL
 * @param options `token` for the user, `caPem` the CA to trust (HTTPS)
 * @returns the kubeconfig's text
 */
export function kubeconfigFor(server: string, options: { token?: string; caPem?: string } = {}): string {
  const user = options.token === undefined ? '{}' : JSON.stringify({ token: options.token });
  const trust =
    options.caPem === undefined
      ? 'insecure-skip-tls-verify: true'
      : `certificate-authority-data: ${Buffer.from(options.caPem).toString('base64')}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: fake\n  cluster:\n    server: ${JSON.stringify(server)}\n    ${trust}`,
    'users:',
    `- name: tester\n  user: ${user}`,
    'contexts:',
    '- name: fake\n  context:\n    cluster: fake\n    user: tester',
    'current-context: fake',
    '',
  ].join('\n');
}

/** The `reason` of a Status the real server sends with a code. */
const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Expired',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function keyOf(object: FakeObject): string {
  const { name, namespace } = object.metadata;
  return namespace === undefined ? name : `${namespace}/${name}`;
}

function withType(kind: FakeKind, object: FakeObject): Record<string, unknown> {
  return { kind, apiVersion: FAKE_RESOURCES[kind].apiVersion, ...object };
}

function send(res: ServerResponse, type: string, object: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
}

function statusObject(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendStatus(res: ServerResponse, status: number, reason: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(statusObject(status, reason, message)));
}
