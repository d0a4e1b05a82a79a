import { chooseListSource, type DestinationFileRead } from '../destination-parser/list-source.js';
import { type DnsProxyError, dnsProxyError, type Result } from './errors.js';
import { type DnsProxyEntry, parseDestinations } from './parse-destinations.js';

/** The port of /metrics, /healthz and /readyz unless EGRESS_DNS_PROXY_ADMIN_PORT says otherwise. */
export const DEFAULT_ADMIN_PORT = 9091;
/** Connect timeout per attempt (the old image's haproxy: `timeout connect 10s`). */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;
/** A relayed connection with no traffic either way for this long is closed (haproxy: client/server 1m). */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 60;
/** After SIGTERM, open connections may finish for this long before they are cut. */
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 20;
/** A name is never re-resolved sooner than this, whatever its TTL (also the first retry delay). */
export const DEFAULT_MIN_TTL_SECONDS = 1;
/** A name is re-resolved at least this often, whatever its TTL (also the longest retry delay). */
export const DEFAULT_MAX_TTL_SECONDS = 30;
/** How long the last addresses are kept after the DNS says the name no longer exists. */
export const DEFAULT_NEGATIVE_HOLD_SECONDS = 30;
/** Open relayed connections at most, over all entries (the old image's haproxy: `maxconn 4000`). */
export const DEFAULT_MAX_CONNECTIONS = 4000;
/** Worker processes unless EGRESS_DNS_PROXY_WORKERS says otherwise: 0, as many as the CPUs the container may use. */
export const DEFAULT_WORKERS = 0;
/** The most worker processes EGRESS_DNS_PROXY_WORKERS may ask for. */
export const MAX_WORKERS = 256;
/** The longest time a variable may name (timers of Node hold at most about 24 days). */
const MAX_SECONDS = 86_400;

/** The environment variables the DNS proxy reads. */
export interface DnsProxyEnv {
  readonly EGRESS_DNS_PROXY_DESTINATION?: string | undefined;
  readonly EGRESS_DNS_PROXY_DESTINATION_FILE?: string | undefined;
  readonly EGRESS_DNS_PROXY_DEBUG?: string | undefined;
  readonly EGRESS_DNS_PROXY_MODE?: string | undefined;
  readonly EGRESS_DNS_PROXY_ADMIN_PORT?: string | undefined;
  readonly EGRESS_DNS_PROXY_CONNECT_TIMEOUT_SECONDS?: string | undefined;
  readonly EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS?: string | undefined;
  readonly EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS?: string | undefined;
  readonly EGRESS_DNS_PROXY_MIN_TTL_SECONDS?: string | undefined;
  readonly EGRESS_DNS_PROXY_MAX_TTL_SECONDS?: string | undefined;
  readonly EGRESS_DNS_PROXY_NEGATIVE_HOLD_SECONDS?: string | undefined;
  readonly EGRESS_DNS_PROXY_MAX_CONNECTIONS?: string | undefined;
  readonly EGRESS_DNS_PROXY_WORKERS?: string | undefined;
}

/** How the proxy behaves, apart from its list. Times in milliseconds. */
export interface DnsProxySettings {
  readonly debug: boolean;
  readonly adminPort: number;
  readonly connectTimeoutMs: number;
  /** 0: no idle timeout. */
  readonly idleTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly negativeHoldMs: number;
  readonly maxConnections: number;
  /** Worker processes serving the proxy ports; 0: as many as the CPUs the container may use; 1: one process. */
  readonly workers: number;
}

/** What the caller read for EGRESS_DNS_PROXY_DESTINATION_FILE: the text, or why it could not be read. */
export type { DestinationFileRead } from '../destination-parser/list-source.js';

/** A validated configuration: the proxy's single input. */
export interface DnsProxyConfig {
  readonly settings: DnsProxySettings;
  readonly entries: DnsProxyEntry[];
  /** Where the list came from: the file's path, or `EGRESS_DNS_PROXY_DESTINATION`. */
  readonly origin: string;
  /** The file to follow, when the list came from one. */
  readonly file?: string;
  /** The list's text as read (the starting point for following the file). */
  readonly text: string;
}

type SettingKey = Exclude<keyof DnsProxySettings, 'debug'>;

/** One tuning variable: where it goes, its default, its range, its unit. */
interface SettingSpec {
  readonly variable: keyof DnsProxyEnv;
  readonly key: SettingKey;
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
  /** Seconds (converted to milliseconds, fractions allowed) or a whole count. */
  readonly unit: 'seconds' | 'count';
}

/** Every tuning variable, in the order they are checked. */
export const SETTINGS: readonly SettingSpec[] = [
  {
    variable: 'EGRESS_DNS_PROXY_ADMIN_PORT',
    key: 'adminPort',
    fallback: DEFAULT_ADMIN_PORT,
    min: 1,
    max: 65535,
    unit: 'count',
  },
  {
    variable: 'EGRESS_DNS_PROXY_CONNECT_TIMEOUT_SECONDS',
    key: 'connectTimeoutMs',
    fallback: DEFAULT_CONNECT_TIMEOUT_SECONDS,
    min: 0.001,
    max: MAX_SECONDS,
    unit: 'seconds',
  },
  {
    variable: 'EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS',
    key: 'idleTimeoutMs',
    fallback: DEFAULT_IDLE_TIMEOUT_SECONDS,
    min: 0,
    max: MAX_SECONDS,
    unit: 'seconds',
  },
  {
    variable: 'EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS',
    key: 'drainTimeoutMs',
    fallback: DEFAULT_DRAIN_TIMEOUT_SECONDS,
    min: 0,
    max: MAX_SECONDS,
    unit: 'seconds',
  },
  {
    variable: 'EGRESS_DNS_PROXY_MIN_TTL_SECONDS',
    key: 'minTtlMs',
    fallback: DEFAULT_MIN_TTL_SECONDS,
    min: 0.1,
    max: MAX_SECONDS,
    unit: 'seconds',
  },
  {
    variable: 'EGRESS_DNS_PROXY_MAX_TTL_SECONDS',
    key: 'maxTtlMs',
    fallback: DEFAULT_MAX_TTL_SECONDS,
    min: 0.1,
    max: MAX_SECONDS,
    unit: 'seconds',
  },
  {
    variable: 'EGRESS_DNS_PROXY_NEGATIVE_HOLD_SECONDS',
    key: 'negativeHoldMs',
    fallback: DEFAULT_NEGATIVE_HOLD_SECONDS,
    min: 0,
    max: MAX_SECONDS,
    unit: 'seconds',
  },
  {
    variable: 'EGRESS_DNS_PROXY_MAX_CONNECTIONS',
    key: 'maxConnections',
    fallback: DEFAULT_MAX_CONNECTIONS,
    min: 1,
    max: 1_000_000,
    unit: 'count',
  },
  {
    variable: 'EGRESS_DNS_PROXY_WORKERS',
    key: 'workers',
    fallback: DEFAULT_WORKERS,
    min: 0,
    max: MAX_WORKERS,
    unit: 'count',
  },
];

const SECONDS = /^[0-9]{1,9}(\.[0-9]{1,3})?$/;
const COUNT = /^[0-9]{1,9}$/;

/**
 * Reads the tuning variables. Unset or empty means the default.
 *
 * @param env the environment
 * @returns the settings, or every bad variable
 */
export function parseDnsProxySettings(env: DnsProxyEnv): Result<DnsProxySettings> {
  const errors: DnsProxyError[] = [];
  const values = {} as Record<SettingKey, number>;
  for (const spec of SETTINGS) {
    const text = env[spec.variable] ?? '';
    const number = text === '' ? spec.fallback : Number(text);
    const wellFormed = text === '' || (spec.unit === 'seconds' ? SECONDS : COUNT).test(text);
    if (!wellFormed || number < spec.min || number > spec.max) {
      errors.push(
        dnsProxyError('SETTING_INVALID', `${spec.variable} '${text}' is invalid: ${describeRange(spec)}`),
      );
      continue;
    }
    values[spec.key] = spec.unit === 'seconds' ? Math.round(number * 1000) : number;
  }
  if (errors.length === 0 && values.minTtlMs > values.maxTtlMs) {
    errors.push(
      dnsProxyError(
        'SETTING_INVALID',
        `EGRESS_DNS_PROXY_MIN_TTL_SECONDS '${values.minTtlMs / 1000}' is invalid: must not exceed EGRESS_DNS_PROXY_MAX_TTL_SECONDS '${values.maxTtlMs / 1000}'`,
      ),
    );
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { debug: (env.EGRESS_DNS_PROXY_DEBUG ?? '') !== '', ...values } };
}

function describeRange(spec: SettingSpec): string {
  return spec.unit === 'seconds'
    ? `must be a number of seconds from ${spec.min} to ${spec.max}`
    : `must be a whole number from ${spec.min} to ${spec.max}`;
}

/**
 * Validates a destination list's text for a proxy with these settings: the list itself (CONTRACT
 * order), and no entry on the admin port. Used at start and for every change of a followed file.
 *
 * @param text the list (an empty text means no list)
 * @param settings the running settings
 * @returns the entries, or every error
 */
export function parseDestinationText(text: string, settings: DnsProxySettings): Result<DnsProxyEntry[]> {
  if (text.trim() === '') return { ok: false, errors: [unspecified()] };
  const { entries, errors } = parseDestinations(text);
  for (const entry of entries) {
    if (entry.listenPort === settings.adminPort) {
      errors.push(
        dnsProxyError(
          'PORT_IS_ADMIN_PORT',
          `Proxy port ${entry.listenPort} is the admin port, set EGRESS_DNS_PROXY_ADMIN_PORT to another port`,
          entry.line,
        ),
      );
    }
  }
  errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: entries };
}

/**
 * Validates the DNS proxy's environment: where the list comes from, the list top to bottom, then
 * the tuning variables. Every problem is collected; the runtime prints the first, `--check` all.
 *
 * @param env the environment variables
 * @param destinationFile what was read from EGRESS_DNS_PROXY_DESTINATION_FILE, when it is set
 * @returns the configuration, or every error found
 */
export function parseDnsProxyConfig(
  env: DnsProxyEnv,
  destinationFile?: DestinationFileRead,
): Result<DnsProxyConfig> {
  const errors: DnsProxyError[] = [];
  const path = env.EGRESS_DNS_PROXY_DESTINATION_FILE ?? '';
  const settings = parseDnsProxySettings(env);
  let text = '';
  let entries: DnsProxyEntry[] = [];
  const source = chooseListSource(
    'EGRESS_DNS_PROXY_DESTINATION',
    env.EGRESS_DNS_PROXY_DESTINATION,
    path,
    destinationFile,
  );
  if (!source.ok) {
    errors.push(
      source.problem === 'both-set'
        ? dnsProxyError('DESTINATION_BOTH_SET', source.message)
        : unspecified(source.message),
    );
  } else {
    text = source.text ?? '';
    const list = parseDestinationText(text, settings.ok ? settings.value : defaultSettings());
    if (list.ok) entries = list.value;
    else errors.push(...list.errors);
  }
  if (!settings.ok) errors.push(...settings.errors);
  if (errors.length > 0 || !settings.ok) return { ok: false, errors };
  return {
    ok: true,
    value: {
      settings: settings.value,
      entries,
      origin: path !== '' ? path : 'EGRESS_DNS_PROXY_DESTINATION',
      ...(path !== '' ? { file: path } : {}),
      text,
    },
  };
}

/** The settings when no tuning variable is set. */
export function defaultSettings(): DnsProxySettings {
  const result = parseDnsProxySettings({});
  if (!result.ok) throw new Error('the default settings are invalid');
  return result.value;
}

function unspecified(reason?: string): DnsProxyError {
  const text = 'Must specify EGRESS_DNS_PROXY_DESTINATION';
  return dnsProxyError('DESTINATION_UNSPECIFIED', reason === undefined ? text : `${text}: ${reason}`);
}
