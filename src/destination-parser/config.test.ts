import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTRACT_EXAMPLE, DUAL_ENV, IPV4_ENV, mustParse, readTestdata } from './_testing.js';
import {
  DEFAULT_EGRESS_INTERFACE,
  DEFAULT_MODE,
  DEFAULT_POD_INTERFACE,
  type DestinationFileRead,
  parseRouterConfig,
  ROUTER_MODES,
  type RouterEnv,
} from './config.js';
import type { ConfigError } from './errors.js';

/** The messages of a configuration's errors, in order; [] when it is valid. */
function messages(env: RouterEnv, file?: DestinationFileRead): string[] {
  const result = parseRouterConfig(env, file);
  return result.ok ? [] : result.errors.map((error) => error.message);
}

describe('parseRouterConfig() on valid environments', () => {
  test('parseRouterConfig() reads the CONTRACT example', () => {
    const config = mustParse({ ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE });
    assert.deepEqual(config, {
      mode: 'unit-test',
      debug: false,
      source: { ipv4: { address: '1.2.3.4', family: 4, prefix: 32 } },
      gateway: { ipv4: { address: '1.2.3.1', family: 4 } },
      podInterface: 'eth0',
      egressInterface: 'macvlan0',
      destinations: [
        {
          kind: 'mapping',
          line: 1,
          protocol: 'tcp',
          localPort: 80,
          destination: { address: '10.4.5.6', family: 4 },
          remotePort: 80,
          remotePortWritten: false,
        },
        {
          kind: 'mapping',
          line: 2,
          protocol: 'tcp',
          localPort: 8080,
          destination: { address: '10.7.8.9', family: 4 },
          remotePort: 80,
          remotePortWritten: true,
        },
        { kind: 'fallback', line: 3, destination: { address: '10.1.2.3', family: 4 } },
      ],
    });
  });

  test('parseRouterConfig() defaults the mode and the interfaces', () => {
    const env = { EGRESS_SOURCE: '1.2.3.4', EGRESS_GATEWAY: '1.2.3.1', EGRESS_DESTINATION: '10.1.2.3' };
    for (const mode of [undefined, '']) {
      const config = mustParse({ ...env, EGRESS_ROUTER_MODE: mode });
      assert.equal(config.mode, DEFAULT_MODE);
      assert.equal(config.mode, 'legacy');
      assert.equal(config.podInterface, DEFAULT_POD_INTERFACE);
      assert.equal(config.egressInterface, DEFAULT_EGRESS_INTERFACE);
    }
  });

  for (const mode of ROUTER_MODES) {
    test(`parseRouterConfig() accepts EGRESS_ROUTER_MODE '${mode}'`, () => {
      assert.equal(
        mustParse({ ...IPV4_ENV, EGRESS_ROUTER_MODE: mode, EGRESS_DESTINATION: CONTRACT_EXAMPLE }).mode,
        mode,
      );
    });
  }

  for (const mode of ['http-proxy', 'dns-proxy']) {
    test(`parseRouterConfig() needs no destination list in ${mode} mode and ignores one`, () => {
      assert.deepEqual(mustParse({ ...IPV4_ENV, EGRESS_ROUTER_MODE: mode }).destinations, []);
      assert.deepEqual(
        mustParse({ ...IPV4_ENV, EGRESS_ROUTER_MODE: mode, EGRESS_DESTINATION: 'bogus' }).destinations,
        [],
      );
    });
  }

  test('parseRouterConfig() takes a source with a prefix', () => {
    const config = mustParse({
      ...IPV4_ENV,
      EGRESS_SOURCE: '1.2.3.4/24',
      EGRESS_DESTINATION: CONTRACT_EXAMPLE,
    });
    assert.deepEqual(config.source, { ipv4: { address: '1.2.3.4', family: 4, prefix: 24 } });
  });

  test('parseRouterConfig() takes a dual-stack source and one gateway per family', () => {
    const config = mustParse({ ...DUAL_ENV, EGRESS_DESTINATION: readTestdata('dual-stack.txt') });
    assert.deepEqual(config.source, {
      ipv4: { address: '192.168.12.99', family: 4, prefix: 24 },
      ipv6: { address: '2001:db8:12::99', family: 6, prefix: 64 },
    });
    assert.deepEqual(config.gateway, {
      ipv4: { address: '192.168.12.1', family: 4 },
      ipv6: { address: '2001:db8:12::1', family: 6 },
    });
    assert.equal(config.destinations.length, 6);
  });

  test('parseRouterConfig() takes an IPv6-only source', () => {
    const config = mustParse({
      EGRESS_SOURCE: '2001:db8:12::99/64',
      EGRESS_GATEWAY: 'fe80::1',
      EGRESS_DESTINATION: '443 tcp 2001:db8::5 8443\n2001:db8::1',
    });
    assert.equal(config.destinations.length, 2);
  });

  test('parseRouterConfig() sets debug when EGRESS_ROUTER_DEBUG is non-empty', () => {
    const env = { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE };
    assert.equal(mustParse(env).debug, false);
    assert.equal(mustParse({ ...env, EGRESS_ROUTER_DEBUG: '' }).debug, false);
    assert.equal(mustParse({ ...env, EGRESS_ROUTER_DEBUG: '1' }).debug, true);
    assert.equal(mustParse({ ...env, EGRESS_ROUTER_DEBUG: 'false' }).debug, true);
  });

  test('parseRouterConfig() takes other interface names', () => {
    const config = mustParse({
      ...IPV4_ENV,
      EGRESS_DESTINATION: CONTRACT_EXAMPLE,
      EGRESS_ROUTER_POD_INTERFACE: 'net1',
      EGRESS_ROUTER_EGRESS_INTERFACE: 'ens3.100',
    });
    assert.equal(config.podInterface, 'net1');
    assert.equal(config.egressInterface, 'ens3.100');
  });

  test('parseRouterConfig() reads the list from EGRESS_DESTINATION_FILE', () => {
    const text = readTestdata('seed-configmap.txt');
    const env = { ...IPV4_ENV, EGRESS_DESTINATION_FILE: '/etc/egress/destination' };
    const fromFile = parseRouterConfig(env, { text });
    const inline = parseRouterConfig({ ...IPV4_ENV, EGRESS_DESTINATION: text });
    assert.ok(fromFile.ok);
    assert.deepEqual(fromFile, inline);
  });

  test('parseRouterConfig() takes an empty EGRESS_DESTINATION next to EGRESS_DESTINATION_FILE as unset', () => {
    const env = { ...IPV4_ENV, EGRESS_DESTINATION: '', EGRESS_DESTINATION_FILE: '/etc/egress/destination' };
    assert.deepEqual(messages(env, { text: CONTRACT_EXAMPLE }), []);
    assert.deepEqual(
      messages({ ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE, EGRESS_DESTINATION_FILE: '' }),
      [],
    );
  });

  test('parseRouterConfig() takes a list of comments only: nothing mapped, other ports refused', () => {
    assert.deepEqual(mustParse({ ...IPV4_ENV, EGRESS_DESTINATION: '# nothing yet\n\n' }).destinations, []);
  });
});

describe('parseRouterConfig() errors', () => {
  const cases: [string, RouterEnv, string[]][] = [
    [
      'no source',
      { ...IPV4_ENV, EGRESS_SOURCE: undefined, EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_SOURCE unspecified or invalid'],
    ],
    [
      'an empty source',
      { ...IPV4_ENV, EGRESS_SOURCE: '', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_SOURCE unspecified or invalid'],
    ],
    [
      'a source that is no address',
      { ...IPV4_ENV, EGRESS_SOURCE: 'not an IP address', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_SOURCE unspecified or invalid'],
    ],
    [
      'a source out of range (deviation)',
      { ...IPV4_ENV, EGRESS_SOURCE: '300.1.2.3', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_SOURCE unspecified or invalid'],
    ],
    [
      'a source /33 (deviation)',
      { ...IPV4_ENV, EGRESS_SOURCE: '1.2.3.4/33', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_SOURCE unspecified or invalid'],
    ],
    [
      'no gateway',
      { ...IPV4_ENV, EGRESS_GATEWAY: undefined, EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_GATEWAY unspecified or invalid'],
    ],
    [
      'a gateway that is no address',
      { ...IPV4_ENV, EGRESS_GATEWAY: 'not an IP address', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_GATEWAY unspecified or invalid'],
    ],
    [
      'a gateway with a prefix',
      { ...IPV4_ENV, EGRESS_GATEWAY: '1.2.3.1/24', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_GATEWAY unspecified or invalid'],
    ],
    [
      'a gateway equal to the source',
      { ...IPV4_ENV, EGRESS_GATEWAY: '1.2.3.4', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_GATEWAY unspecified or invalid'],
    ],
    [
      'an IPv6 gateway for an IPv4 source',
      { ...IPV4_ENV, EGRESS_GATEWAY: 'fe80::1', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_GATEWAY unspecified or invalid'],
    ],
    [
      'a dual-stack source with one gateway',
      { ...DUAL_ENV, EGRESS_GATEWAY: '192.168.12.1', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_GATEWAY unspecified or invalid'],
    ],
    [
      'two gateways for an IPv4 source',
      { ...IPV4_ENV, EGRESS_GATEWAY: '1.2.3.1,fe80::1', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ['EGRESS_GATEWAY unspecified or invalid'],
    ],
    [
      'an unknown mode',
      { ...IPV4_ENV, EGRESS_ROUTER_MODE: 'bogus', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ["Unrecognized EGRESS_ROUTER_MODE 'bogus'"],
    ],
    [
      'a mode in capitals',
      { ...IPV4_ENV, EGRESS_ROUTER_MODE: 'INIT', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ["Unrecognized EGRESS_ROUTER_MODE 'INIT'"],
    ],
    [
      'a mode with a blank',
      { ...IPV4_ENV, EGRESS_ROUTER_MODE: 'init ', EGRESS_DESTINATION: CONTRACT_EXAMPLE },
      ["Unrecognized EGRESS_ROUTER_MODE 'init '"],
    ],
    ['no list', { ...IPV4_ENV }, ['EGRESS_DESTINATION unspecified']],
    ['an empty list', { ...IPV4_ENV, EGRESS_DESTINATION: '' }, ['EGRESS_DESTINATION unspecified']],
    [
      'an invalid line',
      { ...IPV4_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\ninvalid\n8080 tcp 10.7.8.9 80' },
      ["EGRESS_DESTINATION value 'invalid' is invalid"],
    ],
    [
      'an IPv6 destination for an IPv4 source',
      { ...IPV4_ENV, EGRESS_DESTINATION: '443 tcp 2001:db8::5' },
      ["EGRESS_DESTINATION value '443 tcp 2001:db8::5' is invalid: EGRESS_SOURCE has no IPv6 address"],
    ],
    [
      'both list variables set',
      {
        ...IPV4_ENV,
        EGRESS_DESTINATION: CONTRACT_EXAMPLE,
        EGRESS_DESTINATION_FILE: '/etc/egress/destination',
      },
      ['EGRESS_DESTINATION and EGRESS_DESTINATION_FILE are both set, use one'],
    ],
    [
      'an invalid pod interface',
      { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE, EGRESS_ROUTER_POD_INTERFACE: 'eth 0' },
      ["EGRESS_ROUTER_POD_INTERFACE 'eth 0' is not a valid interface name"],
    ],
    [
      'an interface name with a colon',
      { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE, EGRESS_ROUTER_EGRESS_INTERFACE: 'eth0:1' },
      ["EGRESS_ROUTER_EGRESS_INTERFACE 'eth0:1' is not a valid interface name"],
    ],
    [
      'an interface name with a slash',
      { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE, EGRESS_ROUTER_EGRESS_INTERFACE: 'a/b' },
      ["EGRESS_ROUTER_EGRESS_INTERFACE 'a/b' is not a valid interface name"],
    ],
    [
      'an interface name with a quote',
      { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE, EGRESS_ROUTER_EGRESS_INTERFACE: 'a"b' },
      ["EGRESS_ROUTER_EGRESS_INTERFACE 'a\"b' is not a valid interface name"],
    ],
    [
      'an interface name of 16 characters',
      {
        ...IPV4_ENV,
        EGRESS_DESTINATION: CONTRACT_EXAMPLE,
        EGRESS_ROUTER_EGRESS_INTERFACE: 'abcdefghijklmnop',
      },
      ["EGRESS_ROUTER_EGRESS_INTERFACE 'abcdefghijklmnop' is not a valid interface name"],
    ],
    [
      'the interface name ..',
      { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE, EGRESS_ROUTER_POD_INTERFACE: '..' },
      ["EGRESS_ROUTER_POD_INTERFACE '..' is not a valid interface name"],
    ],
    [
      'one interface for both',
      { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE, EGRESS_ROUTER_POD_INTERFACE: 'macvlan0' },
      ["EGRESS_ROUTER_POD_INTERFACE and EGRESS_ROUTER_EGRESS_INTERFACE are both 'macvlan0'"],
    ],
  ];
  for (const [name, env, expected] of cases) {
    test(`parseRouterConfig() refuses ${name}`, () => {
      assert.deepEqual(messages(env), expected);
    });
  }

  test('parseRouterConfig() checks source, gateway, mode, then the list top to bottom', () => {
    const env = {
      EGRESS_SOURCE: 'not an IP address',
      EGRESS_GATEWAY: '',
      EGRESS_ROUTER_MODE: 'bogus',
      EGRESS_DESTINATION: 'invalid\n0 tcp 10.4.5.6\n10.1.2.3\n80 tcp 10.4.5.6',
    };
    assert.deepEqual(messages(env), [
      'EGRESS_SOURCE unspecified or invalid',
      'EGRESS_GATEWAY unspecified or invalid',
      "Unrecognized EGRESS_ROUTER_MODE 'bogus'",
      "EGRESS_DESTINATION value 'invalid' is invalid",
      'Invalid port: 0, must be in the range 1 to 65535',
      'EGRESS_DESTINATION fallback IP must be the last line',
    ]);
  });

  test('parseRouterConfig() puts the unset list after source, gateway and mode', () => {
    assert.deepEqual(messages({ EGRESS_ROUTER_MODE: 'x' }), [
      'EGRESS_SOURCE unspecified or invalid',
      'EGRESS_GATEWAY unspecified or invalid',
      "Unrecognized EGRESS_ROUTER_MODE 'x'",
      'EGRESS_DESTINATION unspecified',
    ]);
  });

  test('parseRouterConfig() gives each error a stable code, and a line for list errors', () => {
    const result = parseRouterConfig({ ...IPV4_ENV, EGRESS_SOURCE: '', EGRESS_DESTINATION: '\n\nbogus' });
    // Without a valid source, the gateway cannot be checked against it: only its own form is.
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      { code: 'SOURCE_INVALID', message: 'EGRESS_SOURCE unspecified or invalid' },
      { code: 'DESTINATION_INVALID', message: "EGRESS_DESTINATION value 'bogus' is invalid", line: 3 },
    ] satisfies ConfigError[]);
  });

  test('parseRouterConfig() checks the list families only against a valid source', () => {
    assert.deepEqual(messages({ ...IPV4_ENV, EGRESS_SOURCE: 'bogus', EGRESS_DESTINATION: '2001:db8::1' }), [
      'EGRESS_SOURCE unspecified or invalid',
    ]);
  });

  const fileCases: [string, DestinationFileRead | undefined, string[]][] = [
    ['an empty file', { text: '' }, ['EGRESS_DESTINATION unspecified']],
    [
      'an unreadable file',
      { error: 'ENOENT' },
      [
        "EGRESS_DESTINATION unspecified: cannot read EGRESS_DESTINATION_FILE '/etc/egress/destination': ENOENT",
      ],
    ],
    [
      'a file the caller did not read',
      undefined,
      [
        "EGRESS_DESTINATION unspecified: cannot read EGRESS_DESTINATION_FILE '/etc/egress/destination': not read",
      ],
    ],
    [
      'a file with an invalid line',
      { text: '# list\nbogus\n' },
      ["EGRESS_DESTINATION value 'bogus' is invalid"],
    ],
  ];
  for (const [name, file, expected] of fileCases) {
    test(`parseRouterConfig() refuses EGRESS_DESTINATION_FILE naming ${name}`, () => {
      assert.deepEqual(
        messages({ ...IPV4_ENV, EGRESS_DESTINATION_FILE: '/etc/egress/destination' }, file),
        expected,
      );
    });
  }
});
