/** The HTTP proxy's limits and ports, from the environment; every one has a named default. */
export interface ProxySettings {
  readonly port: number;
  /** 0 disables the admin endpoints. */
  readonly adminPort: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly drainMs: number;
  /** Worker processes serving the proxy port; 0: as many as the CPUs the container may use; 1: one process. */
  readonly workers: number;
  readonly debug: boolean;
}

/** One setting: its variable, default, and allowed range. */
interface SettingSpec {
  readonly variable: string;
  readonly key: Exclude<keyof ProxySettings, 'debug'>;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly doc: string;
}

/** Every numeric setting, documented in docs/http-proxy.md from this table. */
export const PROXY_SETTINGS: readonly SettingSpec[] = [
  {
    variable: 'EGRESS_HTTP_PROXY_PORT',
    key: 'port',
    default: 8080,
    min: 1,
    max: 65535,
    doc: 'the proxy port',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_ADMIN_PORT',
    key: 'adminPort',
    default: 9090,
    min: 0,
    max: 65535,
    doc: '/metrics, /healthz, /readyz; 0 turns them off',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS',
    key: 'headersTimeoutMs',
    default: 10_000,
    min: 100,
    max: 600_000,
    doc: 'time a client has to send the request head (slow clients)',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_REQUEST_TIMEOUT_MS',
    key: 'requestTimeoutMs',
    default: 300_000,
    min: 100,
    max: 86_400_000,
    doc: 'time a client has to send a whole request, body included',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_KEEPALIVE_TIMEOUT_MS',
    key: 'keepAliveTimeoutMs',
    default: 60_000,
    min: 100,
    max: 3_600_000,
    doc: 'idle time of a client keep-alive connection between requests',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_MAX_HEADER_BYTES',
    key: 'maxHeaderBytes',
    default: 16_384,
    min: 1024,
    max: 1_048_576,
    doc: 'largest request head; larger gets 431',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_MAX_CONNECTIONS',
    key: 'maxConnections',
    default: 8192,
    min: 1,
    max: 1_000_000,
    doc: 'client connections at once; more are closed at once',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_CONNECT_TIMEOUT_MS',
    key: 'connectTimeoutMs',
    default: 10_000,
    min: 100,
    max: 600_000,
    doc: 'time to connect to a destination address; then 504',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_RESPONSE_TIMEOUT_MS',
    key: 'responseTimeoutMs',
    default: 60_000,
    min: 100,
    max: 3_600_000,
    doc: 'time a destination has to answer a plain HTTP request once it is sent, and between bytes of the answer; then 504',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_IDLE_TIMEOUT_MS',
    key: 'idleTimeoutMs',
    default: 600_000,
    min: 1000,
    max: 86_400_000,
    doc: 'a CONNECT tunnel with no traffic either way for this long is closed',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_DRAIN_MS',
    key: 'drainMs',
    default: 25_000,
    min: 0,
    max: 3_600_000,
    doc: 'on SIGTERM: how long open tunnels and requests may finish before they are cut',
  },
  {
    variable: 'EGRESS_HTTP_PROXY_WORKERS',
    key: 'workers',
    default: 0,
    min: 0,
    max: 256,
    doc: 'worker processes serving the proxy port; 0: as many as the CPUs the container may use, 1: one process',
  },
];

export type SettingsResult =
  | { readonly ok: true; readonly value: ProxySettings }
  | { readonly ok: false; readonly errors: string[] };

/**
 * Reads the proxy's settings from the environment. Pure; every bad value is reported.
 *
 * @param env the environment
 * @returns the settings, or one message per bad variable
 */
export function parseProxySettings(env: Readonly<Record<string, string | undefined>>): SettingsResult {
  const errors: string[] = [];
  const values: Partial<Record<SettingSpec['key'], number>> = {};
  for (const spec of PROXY_SETTINGS) {
    const text = env[spec.variable];
    if (text === undefined || text === '') {
      values[spec.key] = spec.default;
      continue;
    }
    const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= spec.min && value <= spec.max)) {
      errors.push(
        `${spec.variable} '${text}' is invalid, must be a whole number from ${spec.min} to ${spec.max}`,
      );
      continue;
    }
    values[spec.key] = value;
  }
  // Node refuses to create a server whose headers timeout is longer than its request timeout.
  const { headersTimeoutMs, requestTimeoutMs } = values;
  if (
    headersTimeoutMs !== undefined &&
    requestTimeoutMs !== undefined &&
    headersTimeoutMs > requestTimeoutMs
  ) {
    errors.push(
      `EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not be more than EGRESS_HTTP_PROXY_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: { ...(values as Omit<ProxySettings, 'debug'>), debug: (env.EGRESS_HTTP_PROXY_DEBUG ?? '') !== '' },
  };
}
