import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONTRACT_EXAMPLE, testdataPath } from '../destination-parser/_testing.js';
import { runCli } from './_cli-testing.js';

const ENV = { EGRESS_SOURCE: '1.2.3.4', EGRESS_GATEWAY: '1.1.1.1' };

describe('egress-router validate FILE', () => {
  let scratch = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ert-validate-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const valid: [string, string, Record<string, string>, string][] = [
    ["the seed's ConfigMap", 'seed-configmap.txt', {}, '3 port mappings, fallback 203.0.113.27'],
    ['a commented list', 'commented-fallback.txt', ENV, '2 port mappings, fallback 10.1.2.3'],
    ['CRLF lines', 'crlf.txt', ENV, '2 port mappings, fallback 203.0.113.27'],
    ['tabs and runs of spaces', 'tabs-and-spaces.txt', ENV, '2 port mappings, fallback 203.0.113.27'],
    [
      'a dual-stack list with a dual-stack source',
      'dual-stack.txt',
      { EGRESS_SOURCE: '192.168.12.99/24,2001:db8:12::99/64' },
      '4 port mappings, fallback 192.0.2.1 and 2001:db8::1',
    ],
    [
      'a dual-stack list without a source to check against',
      'dual-stack.txt',
      {},
      '4 port mappings, fallback 192.0.2.1 and 2001:db8::1',
    ],
  ];
  for (const [name, fixture, env, summary] of valid) {
    test(`validate FILE accepts ${name} and prints a summary`, () => {
      const path = testdataPath(fixture);
      assert.deepEqual(runCli(['validate', path], env), {
        status: 0,
        stdout: `${path}: valid: ${summary}\n`,
        stderr: '',
      });
    });
  }

  test('validate FILE counts one port mapping and says when other ports are refused', () => {
    const path = join(scratch, 'one.txt');
    writeFileSync(path, '80 tcp 10.4.5.6\n');
    assert.deepEqual(runCli(['validate', path]), {
      status: 0,
      stdout: `${path}: valid: 1 port mapping, no fallback (other ports refused)\n`,
      stderr: '',
    });
  });

  test('validate FILE reports every problem with its line number, then how many', () => {
    const path = testdataPath('broken-every-error.txt');
    assert.deepEqual(runCli(['validate', path], ENV), {
      status: 1,
      stdout: '',
      stderr: [
        `${path}:3: EGRESS_DESTINATION value 'not an IP address' is invalid`,
        `${path}:4: EGRESS_DESTINATION value '80 sctp 203.0.113.25' is invalid`,
        `${path}:5: EGRESS_DESTINATION value '81 tcp 300.1.2.3' is invalid`,
        `${path}:6: Invalid port: 0, must be in the range 1 to 65535`,
        `${path}:7: Invalid port: 65536, must be in the range 1 to 65535`,
        `${path}:9: EGRESS_DESTINATION localport 80 is already used, must be unique for each destination`,
        `${path}:11: EGRESS_DESTINATION fallback IP must be the last line`,
        `${path}: 7 problems found`,
        '',
      ].join('\n'),
    });
  });

  test('validate FILE reports a single problem in the singular', () => {
    const path = testdataPath('broken-fallback-not-last.txt');
    assert.deepEqual(runCli(['validate', path]), {
      status: 1,
      stdout: '',
      stderr: `${path}:3: EGRESS_DESTINATION fallback IP must be the last line\n${path}: 1 problem found\n`,
    });
  });

  test('validate FILE checks the families against EGRESS_SOURCE when it is set', () => {
    const path = testdataPath('dual-stack.txt');
    assert.deepEqual(runCli(['validate', path], { EGRESS_SOURCE: '192.168.12.99/24' }), {
      status: 1,
      stdout: '',
      stderr: [
        `${path}:4: EGRESS_DESTINATION value '53 udp 2001:db8::53' is invalid: EGRESS_SOURCE has no IPv6 address`,
        `${path}:5: EGRESS_DESTINATION value '443 tcp 2001:DB8:0:0::443 8443' is invalid: EGRESS_SOURCE has no IPv6 address`,
        `${path}:7: EGRESS_DESTINATION value '2001:db8::1' is invalid: EGRESS_SOURCE has no IPv6 address`,
        `${path}: 3 problems found`,
        '',
      ].join('\n'),
    });
  });

  test('validate FILE reports an invalid EGRESS_SOURCE without a line number, before the list', () => {
    const path = testdataPath('broken-fallback-not-last.txt');
    assert.deepEqual(runCli(['validate', path], { EGRESS_SOURCE: '1.2.3.4/33' }), {
      status: 1,
      stdout: '',
      stderr: [
        'EGRESS_SOURCE unspecified or invalid',
        `${path}:3: EGRESS_DESTINATION fallback IP must be the last line`,
        `${path}: 2 problems found`,
        '',
      ].join('\n'),
    });
  });

  test('validate FILE refuses an empty file as an unspecified list', () => {
    const path = join(scratch, 'empty.txt');
    writeFileSync(path, '');
    assert.deepEqual(runCli(['validate', path]), {
      status: 1,
      stdout: '',
      stderr: `EGRESS_DESTINATION unspecified\n${path}: 1 problem found\n`,
    });
  });

  test('validate FILE says when the file cannot be read', () => {
    assert.deepEqual(runCli(['validate', '/nonexistent/list.txt']), {
      status: 1,
      stdout: '',
      stderr: "validate: cannot read '/nonexistent/list.txt': ENOENT\n",
    });
    assert.deepEqual(runCli(['validate', scratch]), {
      status: 1,
      stdout: '',
      stderr: `validate: cannot read '${scratch}': EISDIR\n`,
    });
  });
});

describe('egress-router validate (the environment)', () => {
  test('validate accepts the CONTRACT example in EGRESS_DESTINATION', () => {
    const env = { ...ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE };
    assert.deepEqual(runCli(['validate'], env), {
      status: 0,
      stdout: 'EGRESS_DESTINATION: valid: 2 port mappings, fallback 10.1.2.3\n',
      stderr: '',
    });
  });

  for (const mode of ['http-proxy', 'dns-proxy']) {
    test(`validate in ${mode} mode says no list is used, and refuses no port`, () => {
      assert.deepEqual(runCli(['validate'], { ...ENV, EGRESS_ROUTER_MODE: mode }), {
        status: 0,
        stdout: `EGRESS_DESTINATION: valid: mode ${mode}, no destination list used\n`,
        stderr: '',
      });
    });
  }

  test('validate reads EGRESS_DESTINATION_FILE and names it', () => {
    const path = testdataPath('seed-configmap.txt');
    assert.deepEqual(runCli(['validate'], { ...ENV, EGRESS_DESTINATION_FILE: path }), {
      status: 0,
      stdout: `${path}: valid: 3 port mappings, fallback 203.0.113.27\n`,
      stderr: '',
    });
  });

  test('validate reports every problem of the environment in CONTRACT order', () => {
    const env = {
      EGRESS_SOURCE: '300.1.2.3',
      EGRESS_GATEWAY: 'gateway',
      EGRESS_ROUTER_MODE: 'bogus',
      EGRESS_DESTINATION: '80 tcp 10.4.5.6\n\ninvalid\n80 tcp 10.4.5.7\n10.1.2.3\n81 tcp 10.4.5.6',
    };
    assert.deepEqual(runCli(['validate'], env), {
      status: 1,
      stdout: '',
      stderr: [
        'EGRESS_SOURCE unspecified or invalid',
        'EGRESS_GATEWAY unspecified or invalid',
        "Unrecognized EGRESS_ROUTER_MODE 'bogus'",
        "EGRESS_DESTINATION:3: EGRESS_DESTINATION value 'invalid' is invalid",
        'EGRESS_DESTINATION:4: EGRESS_DESTINATION localport 80 is already used, must be unique for each destination',
        'EGRESS_DESTINATION:6: EGRESS_DESTINATION fallback IP must be the last line',
        'EGRESS_DESTINATION: 6 problems found',
        '',
      ].join('\n'),
    });
  });

  test('validate reports problems of EGRESS_DESTINATION_FILE with the file name and line', () => {
    const path = testdataPath('broken-fallback-not-last.txt');
    assert.deepEqual(runCli(['validate'], { ...ENV, EGRESS_DESTINATION_FILE: path }), {
      status: 1,
      stdout: '',
      stderr: `${path}:3: EGRESS_DESTINATION fallback IP must be the last line\n${path}: 1 problem found\n`,
    });
  });

  const single: [string, Record<string, string>, string][] = [
    [
      'an unset environment',
      {},
      'EGRESS_SOURCE unspecified or invalid\nEGRESS_GATEWAY unspecified or invalid\nEGRESS_DESTINATION unspecified',
    ],
    ['no list', ENV, 'EGRESS_DESTINATION unspecified'],
    [
      'both list variables',
      { ...ENV, EGRESS_DESTINATION: '10.1.2.3', EGRESS_DESTINATION_FILE: '/etc/egress/list' },
      'EGRESS_DESTINATION and EGRESS_DESTINATION_FILE are both set, use one',
    ],
  ];
  for (const [name, env, problems] of single) {
    test(`validate refuses ${name}`, () => {
      const run = runCli(['validate'], env);
      const origin = env.EGRESS_DESTINATION_FILE ?? 'EGRESS_DESTINATION';
      const count = problems.split('\n').length;
      assert.deepEqual(run, {
        status: 1,
        stdout: '',
        stderr: `${problems}\n${origin}: ${count} problem${count === 1 ? '' : 's'} found\n`,
      });
    });
  }
});
