import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readTestdata } from './_testing.js';
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_CONNECT_TIMEOUT_SECONDS,
  DEFAULT_DRAIN_TIMEOUT_SECONDS,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_TTL_SECONDS,
  DEFAULT_MIN_TTL_SECONDS,
  DEFAULT_NEGATIVE_HOLD_SECONDS,
  DEFAULT_WORKERS,
  defaultSettings,
  parseDestinationText,
  parseDnsProxyConfig,
  parseDnsProxySettings,
} from './config.js';

describe('parseDnsProxySettings()', () => {
  test('parseDnsProxySettings() gives the named defaults when nothing is set', () => {
    assert.deepEqual(parseDnsProxySettings({}), {
      ok: true,
      value: {
        debug: false,
        adminPort: DEFAULT_ADMIN_PORT,
        connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_SECONDS * 1000,
        idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_SECONDS * 1000,
        drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000,
        minTtlMs: DEFAULT_MIN_TTL_SECONDS * 1000,
        maxTtlMs: DEFAULT_MAX_TTL_SECONDS * 1000,
        negativeHoldMs: DEFAULT_NEGATIVE_HOLD_SECONDS * 1000,
        maxConnections: DEFAULT_MAX_CONNECTIONS,
        workers: DEFAULT_WORKERS,
      },
    });
  });

  test('parseDnsProxySettings() reads every variable; seconds may have fractions; empty means the default', () => {
    const result = parseDnsProxySettings({
      EGRESS_DNS_PROXY_DEBUG: '1',
      EGRESS_DNS_PROXY_ADMIN_PORT: '19091',
      EGRESS_DNS_PROXY_CONNECT_TIMEOUT_SECONDS: '0.25',
      EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS: '0',
      EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS: '',
      EGRESS_DNS_PROXY_MIN_TTL_SECONDS: '0.5',
      EGRESS_DNS_PROXY_MAX_TTL_SECONDS: '2',
      EGRESS_DNS_PROXY_NEGATIVE_HOLD_SECONDS: '0',
      EGRESS_DNS_PROXY_MAX_CONNECTIONS: '10',
      EGRESS_DNS_PROXY_WORKERS: '3',
    });
    assert.deepEqual(result, {
      ok: true,
      value: {
        debug: true,
        adminPort: 19091,
        connectTimeoutMs: 250,
        idleTimeoutMs: 0,
        drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000,
        minTtlMs: 500,
        maxTtlMs: 2000,
        negativeHoldMs: 0,
        maxConnections: 10,
        workers: 3,
      },
    });
  });

  const bad: [string, string, string][] = [
    ['EGRESS_DNS_PROXY_ADMIN_PORT', '0', 'must be a whole number from 1 to 65535'],
    ['EGRESS_DNS_PROXY_ADMIN_PORT', '65536', 'must be a whole number from 1 to 65535'],
    ['EGRESS_DNS_PROXY_ADMIN_PORT', '90.5', 'must be a whole number from 1 to 65535'],
    ['EGRESS_DNS_PROXY_CONNECT_TIMEOUT_SECONDS', '0', 'must be a number of seconds from 0.001 to 86400'],
    ['EGRESS_DNS_PROXY_CONNECT_TIMEOUT_SECONDS', '10s', 'must be a number of seconds from 0.001 to 86400'],
    ['EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS', '-1', 'must be a number of seconds from 0 to 86400'],
    ['EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS', '86401', 'must be a number of seconds from 0 to 86400'],
    ['EGRESS_DNS_PROXY_DRAIN_TIMEOUT_SECONDS', '1e3', 'must be a number of seconds from 0 to 86400'],
    ['EGRESS_DNS_PROXY_MIN_TTL_SECONDS', '0', 'must be a number of seconds from 0.1 to 86400'],
    ['EGRESS_DNS_PROXY_MAX_TTL_SECONDS', ' 5', 'must be a number of seconds from 0.1 to 86400'],
    ['EGRESS_DNS_PROXY_NEGATIVE_HOLD_SECONDS', 'forever', 'must be a number of seconds from 0 to 86400'],
    ['EGRESS_DNS_PROXY_MAX_CONNECTIONS', '0', 'must be a whole number from 1 to 1000000'],
    ['EGRESS_DNS_PROXY_WORKERS', '-1', 'must be a whole number from 0 to 256'],
    ['EGRESS_DNS_PROXY_WORKERS', '257', 'must be a whole number from 0 to 256'],
    ['EGRESS_DNS_PROXY_WORKERS', '2.5', 'must be a whole number from 0 to 256'],
    ['EGRESS_DNS_PROXY_WORKERS', 'auto', 'must be a whole number from 0 to 256'],
  ];
  for (const [variable, value, range] of bad) {
    test(`parseDnsProxySettings() refuses ${variable}='${value}'`, () => {
      assert.deepEqual(parseDnsProxySettings({ [variable]: value }), {
        ok: false,
        errors: [{ code: 'SETTING_INVALID', message: `${variable} '${value}' is invalid: ${range}` }],
      });
    });
  }

  test('parseDnsProxySettings() refuses a minimum TTL above the maximum', () => {
    assert.deepEqual(
      parseDnsProxySettings({
        EGRESS_DNS_PROXY_MIN_TTL_SECONDS: '10',
        EGRESS_DNS_PROXY_MAX_TTL_SECONDS: '5',
      }),
      {
        ok: false,
        errors: [
          {
            code: 'SETTING_INVALID',
            message:
              "EGRESS_DNS_PROXY_MIN_TTL_SECONDS '10' is invalid: must not exceed EGRESS_DNS_PROXY_MAX_TTL_SECONDS '5'",
          },
        ],
      },
    );
  });

  test('parseDnsProxySettings() reports every bad variable', () => {
    const result = parseDnsProxySettings({
      EGRESS_DNS_PROXY_ADMIN_PORT: 'x',
      EGRESS_DNS_PROXY_MAX_CONNECTIONS: 'y',
    });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.errors.length, 2);
  });
});

describe('parseDnsProxyConfig()', () => {
  const LIST = readTestdata('old-image-docs.txt');

  test('parseDnsProxyConfig() reads the list from EGRESS_DNS_PROXY_DESTINATION', () => {
    const result = parseDnsProxyConfig({ EGRESS_DNS_PROXY_DESTINATION: LIST });
    assert.ok(result.ok);
    assert.equal(result.value.entries.length, 4);
    assert.equal(result.value.origin, 'EGRESS_DNS_PROXY_DESTINATION');
    assert.equal(result.value.file, undefined);
    assert.equal(result.value.text, LIST);
  });

  test('parseDnsProxyConfig() reads the list from EGRESS_DNS_PROXY_DESTINATION_FILE, to follow', () => {
    const result = parseDnsProxyConfig(
      { EGRESS_DNS_PROXY_DESTINATION_FILE: '/cm/destination' },
      { text: LIST },
    );
    assert.ok(result.ok);
    assert.equal(result.value.entries.length, 4);
    assert.equal(result.value.origin, '/cm/destination');
    assert.equal(result.value.file, '/cm/destination');
  });

  const unspecified = 'Must specify EGRESS_DNS_PROXY_DESTINATION';
  const cases: [string, Parameters<typeof parseDnsProxyConfig>, string][] = [
    ['no list at all', [{}], unspecified],
    ['an empty list', [{ EGRESS_DNS_PROXY_DESTINATION: '' }], unspecified],
    ['a list of blanks', [{ EGRESS_DNS_PROXY_DESTINATION: ' \n\t\n' }], unspecified],
    ['an empty file', [{ EGRESS_DNS_PROXY_DESTINATION_FILE: '/f' }, { text: '' }], unspecified],
    [
      'an unreadable file',
      [{ EGRESS_DNS_PROXY_DESTINATION_FILE: '/f' }, { error: 'ENOENT' }],
      `${unspecified}: cannot read EGRESS_DNS_PROXY_DESTINATION_FILE '/f': ENOENT`,
    ],
    [
      'both the variable and the file',
      [{ EGRESS_DNS_PROXY_DESTINATION: LIST, EGRESS_DNS_PROXY_DESTINATION_FILE: '/f' }, { text: LIST }],
      'EGRESS_DNS_PROXY_DESTINATION and EGRESS_DNS_PROXY_DESTINATION_FILE are both set, use one',
    ],
    ['a bad line', [{ EGRESS_DNS_PROXY_DESTINATION: '80 example' }], "Bad destination '80 example'"],
    [
      'a bad port',
      [{ EGRESS_DNS_PROXY_DESTINATION: '70000 example.com' }],
      'Invalid port: 70000, must be in the range 1 to 65535',
    ],
    [
      'a port used twice',
      [{ EGRESS_DNS_PROXY_DESTINATION: '80 example.com\n80 example.org' }],
      'Proxy port 80 already used, must be unique for each destination',
    ],
    [
      'an entry on the admin port',
      [{ EGRESS_DNS_PROXY_DESTINATION: '9091 example.com' }],
      'Proxy port 9091 is the admin port, set EGRESS_DNS_PROXY_ADMIN_PORT to another port',
    ],
  ];
  for (const [name, args, first] of cases) {
    test(`parseDnsProxyConfig() refuses ${name}: ${first}`, () => {
      const result = parseDnsProxyConfig(...args);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.errors[0]?.message, first);
    });
  }

  test('parseDnsProxyConfig() checks the admin port against the list with the configured port', () => {
    const env = { EGRESS_DNS_PROXY_DESTINATION: '9091 example.com', EGRESS_DNS_PROXY_ADMIN_PORT: '9092' };
    assert.equal(parseDnsProxyConfig(env).ok, true);
  });

  test('parseDnsProxyConfig() reports list errors first, then settings', () => {
    const result = parseDnsProxyConfig({
      EGRESS_DNS_PROXY_DESTINATION: '80 x\n0 example.com',
      EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS: 'x',
    });
    assert.deepEqual(!result.ok && result.errors.map((e) => e.code), [
      'DESTINATION_INVALID',
      'PORT_INVALID',
      'SETTING_INVALID',
    ]);
  });
});

describe('parseDestinationText()', () => {
  test('parseDestinationText() validates a reloaded list like the first one', () => {
    assert.equal(parseDestinationText('80 example.com', defaultSettings()).ok, true);
    assert.deepEqual(parseDestinationText('', defaultSettings()), {
      ok: false,
      errors: [{ code: 'DESTINATION_UNSPECIFIED', message: 'Must specify EGRESS_DNS_PROXY_DESTINATION' }],
    });
  });
});
