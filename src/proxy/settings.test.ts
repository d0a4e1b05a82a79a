import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PROXY_SETTINGS, type ProxySettings, parseProxySettings } from './settings.js';

const DEFAULTS: ProxySettings = {
  port: 8080,
  adminPort: 9090,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 60_000,
  maxHeaderBytes: 16_384,
  maxConnections: 8192,
  connectTimeoutMs: 10_000,
  responseTimeoutMs: 60_000,
  idleTimeoutMs: 600_000,
  drainMs: 25_000,
  workers: 0,
  debug: false,
};

describe('parseProxySettings()', () => {
  test('parseProxySettings() gives the named defaults for an empty environment, and for empty values', () => {
    assert.deepEqual(parseProxySettings({}), { ok: true, value: DEFAULTS });
    const empty = Object.fromEntries(PROXY_SETTINGS.map((s) => [s.variable, '']));
    assert.deepEqual(parseProxySettings(empty), { ok: true, value: DEFAULTS });
    for (const spec of PROXY_SETTINGS) assert.equal(DEFAULTS[spec.key], spec.default, spec.variable);
  });

  const variables: [string, keyof ProxySettings, string, number][] = [
    ['EGRESS_HTTP_PROXY_PORT', 'port', '3128', 3128],
    ['EGRESS_HTTP_PROXY_ADMIN_PORT', 'adminPort', '0', 0],
    ['EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS', 'headersTimeoutMs', '100', 100],
    ['EGRESS_HTTP_PROXY_REQUEST_TIMEOUT_MS', 'requestTimeoutMs', '86400000', 86_400_000],
    ['EGRESS_HTTP_PROXY_KEEPALIVE_TIMEOUT_MS', 'keepAliveTimeoutMs', '100', 100],
    ['EGRESS_HTTP_PROXY_MAX_HEADER_BYTES', 'maxHeaderBytes', '1024', 1024],
    ['EGRESS_HTTP_PROXY_MAX_CONNECTIONS', 'maxConnections', '1', 1],
    ['EGRESS_HTTP_PROXY_CONNECT_TIMEOUT_MS', 'connectTimeoutMs', '600000', 600_000],
    ['EGRESS_HTTP_PROXY_RESPONSE_TIMEOUT_MS', 'responseTimeoutMs', '0100', 100],
    ['EGRESS_HTTP_PROXY_IDLE_TIMEOUT_MS', 'idleTimeoutMs', '1000', 1000],
    ['EGRESS_HTTP_PROXY_DRAIN_MS', 'drainMs', '0', 0],
    ['EGRESS_HTTP_PROXY_WORKERS', 'workers', '2', 2],
  ];
  for (const [variable, key, text, value] of variables) {
    test(`parseProxySettings() reads ${variable}=${text}`, () => {
      assert.deepEqual(parseProxySettings({ [variable]: text }), {
        ok: true,
        value: { ...DEFAULTS, [key]: value },
      });
    });
  }

  test('parseProxySettings() turns debug on for any non-empty EGRESS_HTTP_PROXY_DEBUG', () => {
    const on = parseProxySettings({ EGRESS_HTTP_PROXY_DEBUG: 'yes' });
    assert.ok(on.ok && on.value.debug);
    const off = parseProxySettings({ EGRESS_HTTP_PROXY_DEBUG: '' });
    assert.ok(off.ok && !off.value.debug);
  });

  const invalid: [string, string, string][] = [
    [
      'EGRESS_HTTP_PROXY_PORT',
      '0',
      "EGRESS_HTTP_PROXY_PORT '0' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_PORT',
      '65536',
      "EGRESS_HTTP_PROXY_PORT '65536' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_PORT',
      'http',
      "EGRESS_HTTP_PROXY_PORT 'http' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_PORT',
      '-1',
      "EGRESS_HTTP_PROXY_PORT '-1' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_PORT',
      '80.5',
      "EGRESS_HTTP_PROXY_PORT '80.5' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_PORT',
      ' 80',
      "EGRESS_HTTP_PROXY_PORT ' 80' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_PORT',
      '1e3',
      "EGRESS_HTTP_PROXY_PORT '1e3' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_PORT',
      '0x50',
      "EGRESS_HTTP_PROXY_PORT '0x50' is invalid, must be a whole number from 1 to 65535",
    ],
    [
      'EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS',
      '99',
      "EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS '99' is invalid, must be a whole number from 100 to 600000",
    ],
    [
      'EGRESS_HTTP_PROXY_MAX_HEADER_BYTES',
      '1023',
      "EGRESS_HTTP_PROXY_MAX_HEADER_BYTES '1023' is invalid, must be a whole number from 1024 to 1048576",
    ],
    [
      'EGRESS_HTTP_PROXY_MAX_CONNECTIONS',
      '0',
      "EGRESS_HTTP_PROXY_MAX_CONNECTIONS '0' is invalid, must be a whole number from 1 to 1000000",
    ],
    [
      'EGRESS_HTTP_PROXY_WORKERS',
      '257',
      "EGRESS_HTTP_PROXY_WORKERS '257' is invalid, must be a whole number from 0 to 256",
    ],
    [
      'EGRESS_HTTP_PROXY_WORKERS',
      'auto',
      "EGRESS_HTTP_PROXY_WORKERS 'auto' is invalid, must be a whole number from 0 to 256",
    ],
    [
      'EGRESS_HTTP_PROXY_IDLE_TIMEOUT_MS',
      '999',
      "EGRESS_HTTP_PROXY_IDLE_TIMEOUT_MS '999' is invalid, must be a whole number from 1000 to 86400000",
    ],
    [
      'EGRESS_HTTP_PROXY_DRAIN_MS',
      '3600001',
      "EGRESS_HTTP_PROXY_DRAIN_MS '3600001' is invalid, must be a whole number from 0 to 3600000",
    ],
  ];
  for (const [variable, text, message] of invalid) {
    test(`parseProxySettings() refuses ${variable}=${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseProxySettings({ [variable]: text }), { ok: false, errors: [message] });
    });
  }

  test('parseProxySettings() reports every bad variable, in table order', () => {
    assert.deepEqual(
      parseProxySettings({
        EGRESS_HTTP_PROXY_DRAIN_MS: 'x',
        EGRESS_HTTP_PROXY_PORT: '0',
        EGRESS_HTTP_PROXY_ADMIN_PORT: '8080',
      }),
      {
        ok: false,
        errors: [
          "EGRESS_HTTP_PROXY_PORT '0' is invalid, must be a whole number from 1 to 65535",
          "EGRESS_HTTP_PROXY_DRAIN_MS 'x' is invalid, must be a whole number from 0 to 3600000",
        ],
      },
    );
  });

  test('parseProxySettings() refuses a headers timeout longer than the request timeout (Node would throw)', () => {
    assert.deepEqual(parseProxySettings({ EGRESS_HTTP_PROXY_REQUEST_TIMEOUT_MS: '1000' }), {
      ok: false,
      errors: [
        'EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS (10000) must not be more than EGRESS_HTTP_PROXY_REQUEST_TIMEOUT_MS (1000)',
      ],
    });
    const equal = parseProxySettings({
      EGRESS_HTTP_PROXY_REQUEST_TIMEOUT_MS: '1000',
      EGRESS_HTTP_PROXY_HEADERS_TIMEOUT_MS: '1000',
    });
    assert.ok(equal.ok);
  });
});
