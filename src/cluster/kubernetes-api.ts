/**
 * The two requests a list+watch client makes of the Kubernetes API, over the configuration of
 * `@kubernetes/client-node` (kubeconfig or in-cluster service account: server, TLS, tokens, auth
 * providers, proxies all come from its `KubeConfig.applyToHTTPSOptions`).
 *
 * The requests themselves are `node:http(s)` requests of our own rather than the library's `Watch`
 * and generated API clients: `Watch` cannot be aborted before the server answers (its
 * AbortController is returned only then, so a hung connect would outlive `close()`), its 30 s
 * timeout is dead code, it drops the server's Status message, and it swallows exceptions thrown by
 * the event callback together with unparsable lines; the generated list calls deserialize items into
 * model classes (timestamps become `Date`s), unlike the raw objects watch events carry, and cannot
 * be aborted either. Here a list and a watch both give the raw JSON objects and both stop at once
 * when aborted.
 */
import { request as httpRequest, type IncomingMessage, STATUS_CODES } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { isRecord, KubernetesApiError, messageOf, oneLine } from './kubernetes-error.js';
import { listInPages } from './kubernetes-list.js';
import { followStream } from './kubernetes-stream.js';

/** A list's answer: its items (raw JSON objects) and the resource version to watch from. */
export interface ListAnswer {
  readonly resourceVersion: string;
  readonly items: readonly unknown[];
}

/** One event of a watch stream, as sent: `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`. */
export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

/** What a watch reports; `done` is called once, and not at all after the watch was aborted. */
export interface WatchCallbacks {
  event(event: WatchEvent): void;
  /** The stream ended: cleanly (undefined), or with why (an HTTP status, a lost connection). */
  done(error: KubernetesApiError | undefined): void;
}

/** The API as a list+watch client sees it. */
export interface KubernetesApi {
  /** The server URL, for logs. */
  readonly server: string;
  /**
   * Lists a collection, in pages of 500 (kubernetes-list.ts).
   *
   * @param path e.g. `/api/v1/pods`
   * @param signal aborts the request
   * @throws KubernetesApiError when the server refuses (with its status) or cannot be reached
   */
  list(path: string, signal: AbortSignal): Promise<ListAnswer>;
  /**
   * Watches a collection (`?watch=true` and the given query).
   *
   * @returns a function that aborts the watch (idempotent; `done` is not called after it)
   */
  watch(path: string, query: Readonly<Record<string, string>>, callbacks: WatchCallbacks): () => void;
  /**
   * Sends one request with a JSON body (or none): a create (`POST`), a replace (`PUT`), a `GET` of
   * one object. Any status resolves: the caller decides (a 409 is an answer, not a failure).
   *
   * @param method `GET`, `POST` or `PUT`
   * @param path e.g. `/apis/coordination.k8s.io/v1/namespaces/ns/leases/name`
   * @param body the object to send, as JSON
   * @param signal aborts the request
   * @returns the status and the parsed JSON answer (undefined when it is not JSON)
   * @throws KubernetesApiError when there is no answer (refused, timed out, aborted)
   */
  send(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, signal: AbortSignal): Promise<SendAnswer>;
}

/** What {@link KubernetesApi.send} resolves with. */
export interface SendAnswer {
  readonly status: number;
  readonly body: unknown;
  /** `409 Conflict: <the server's message>`, one line, for a status other than 2xx. */
  readonly error?: KubernetesApiError;
}

/** TCP keep-alive on API connections, so that a dead peer ends a quiet watch. */
const KEEPALIVE_MS = 30_000;
/** How long the server has to answer a request (headers); a watch's stream may then stay quiet. */
const ANSWER_TIMEOUT_MS = 60_000;
/** How the agent names itself to the API server (its audit log). */
const USER_AGENT = 'egress-router-node';

/**
 * Loads the client configuration: the kubeconfig file given, else the pod's service account when
 * `KUBERNETES_SERVICE_HOST` is set, else `KUBECONFIG` or `~/.kube/config` (the library's
 * `loadFromDefault`).
 *
 * @param path a kubeconfig file
 * @param env the environment to look at (`KUBERNETES_SERVICE_HOST`)
 * @returns the configuration, with a current cluster
 * @throws Error (one line) when the file cannot be read or names no current cluster
 */
export function loadKubeConfig(path?: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const config = new KubeConfig();
  const from =
    path !== undefined
      ? `kubeconfig ${path}`
      : env.KUBERNETES_SERVICE_HOST
        ? 'the service account'
        : 'the kubeconfig';
  try {
    if (path !== undefined) config.loadFromFile(path);
    else if (env.KUBERNETES_SERVICE_HOST) config.loadFromCluster();
    else config.loadFromDefault();
  } catch (error) {
    // A YAML error's message goes on with an excerpt of the file: its first line says it.
    const first = messageOf(error).split('\n', 1)[0] ?? '';
    throw new Error(`kubernetes source: cannot read ${from}: ${oneLine(first)}`, { cause: error });
  }
  const cluster = config.getCurrentCluster();
  if (cluster === null || typeof cluster.server !== 'string' || cluster.server === '') {
    throw new Error(`kubernetes source: ${from} names no current cluster with a server`);
  }
  return config;
}

/**
 * The API of a configuration.
 *
 * @param config from loadKubeConfig
 * @returns lists and watches over `node:http(s)` with the configuration's server and credentials
 */
export function createKubernetesApi(config: KubeConfig): KubernetesApi {
  const server = config.getCurrentCluster()?.server ?? '';
  return {
    server,
    list(path, signal) {
      return listInPages(async (query) => {
        const response = await openRequest(config, server, path, query, signal, false);
        const text = await readText(response);
        if (response.statusCode !== 200) throw statusError(response.statusCode ?? 0, text);
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw new KubernetesApiError('the list answer is not JSON', 200);
        }
      });
    },
    watch(path, query, callbacks) {
      const abort = new AbortController();
      let finished = false;
      const finish = (error: KubernetesApiError | undefined) => {
        if (finished) return;
        finished = true;
        abort.abort();
        callbacks.done(error);
      };
      openRequest(config, server, path, { ...query, watch: 'true' }, abort.signal, true).then(
        (response) => {
          if (finished) {
            response.destroy();
          } else if (response.statusCode !== 200) {
            readText(response).then(
              (text) => finish(statusError(response.statusCode ?? 0, text)),
              (error) => finish(wrap(error)),
            );
          } else {
            followStream(response, callbacks, finish);
          }
        },
        (error) => finish(wrap(error)),
      );
      return () => {
        finished = true;
        abort.abort();
      };
    },
    async send(method, path, body, signal) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const response = await openRequest(config, server, path, {}, signal, false, { method, payload });
      const text = await readText(response);
      const status = response.statusCode ?? 0;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return status >= 200 && status < 300
        ? { status, body: parsed }
        : { status, body: parsed, error: statusError(status, text) };
    },
  };
}

/**
 * Sends a request (a GET unless told); resolves with the response (any status) once its headers
 * are in. The connection may stay idle ANSWER_TIMEOUT_MS: until the headers for a watch (whose
 * stream may then be quiet for minutes), throughout for a list.
 */
async function openRequest(
  config: KubeConfig,
  server: string,
  path: string,
  query: Readonly<Record<string, string>>,
  signal: AbortSignal,
  stream: boolean,
  write?: { readonly method: string; readonly payload: string | undefined },
): Promise<IncomingMessage> {
  // As the library's Watch builds it: a server URL with a path prefix keeps it.
  const url = new URL(server + path);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const options: RequestOptions = {};
  try {
    await config.applyToHTTPSOptions(options);
  } catch (error) {
    throw new KubernetesApiError(oneLine(messageOf(error)), undefined, { cause: error });
  }
  signal.throwIfAborted();
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: write?.method ?? 'GET',
        agent: options.agent,
        auth: options.auth,
        headers: {
          ...options.headers,
          accept: 'application/json',
          'user-agent': USER_AGENT,
          ...(write?.payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        signal,
      },
      (response) => {
        if (stream) request.setTimeout(0);
        resolve(response);
      },
    );
    request.on('error', (error) => reject(wrap(error)));
    request.on('socket', (socket) => socket.setKeepAlive(true, KEEPALIVE_MS));
    request.setTimeout(ANSWER_TIMEOUT_MS, () =>
      request.destroy(
        new KubernetesApiError(`${url.host} sent nothing for ${ANSWER_TIMEOUT_MS / 1000} s`, undefined),
      ),
    );
    request.end(write?.payload);
  });
}

async function readText(response: IncomingMessage): Promise<string> {
  response.setEncoding('utf8');
  let text = '';
  try {
    for await (const chunk of response) text += chunk;
  } catch (error) {
    throw wrap(error);
  }
  return text;
}

/** `403 Forbidden: <the Status message>`, one line. */
function statusError(status: number, body: string): KubernetesApiError {
  let message: string | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && typeof parsed.message === 'string' && parsed.message !== '')
      message = parsed.message;
  } catch {
    // Not a Status: the status line says enough.
  }
  const head = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
  return new KubernetesApiError(
    message === undefined ? head : `${head}: ${oneLine(message).slice(0, 500)}`,
    status,
  );
}

function wrap(error: unknown): KubernetesApiError {
  return error instanceof KubernetesApiError
    ? error
    : new KubernetesApiError(oneLine(messageOf(error)), undefined, { cause: error });
}
