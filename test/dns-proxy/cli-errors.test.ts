import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../../src/cli/_cli-testing.js';
import { readTestdata, testdataPath } from '../../src/dns-proxy/_testing.js';
import { availableCpus } from '../../src/runtime/cpus.js';

describe('egress-router dns-proxy: CONTRACT errors', () => {
  let scratch = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'egress-dns-cli-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const cases: [string, Record<string, string>, string][] = [
    ['no EGRESS_DNS_PROXY_DESTINATION', {}, 'Must specify EGRESS_DNS_PROXY_DESTINATION'],
    [
      'an empty EGRESS_DNS_PROXY_DESTINATION',
      { EGRESS_DNS_PROXY_DESTINATION: '' },
      'Must specify EGRESS_DNS_PROXY_DESTINATION',
    ],
    [
      'a line of no known form',
      { EGRESS_DNS_PROXY_DESTINATION: '80 tcp 10.0.0.1' },
      "Bad destination '80 tcp 10.0.0.1'",
    ],
    [
      'an address that is not one',
      { EGRESS_DNS_PROXY_DESTINATION: '80 300.1.2.3' },
      "Bad destination '80 300.1.2.3'",
    ],
    [
      'a name without a dot',
      { EGRESS_DNS_PROXY_DESTINATION: '80 localhost' },
      "Bad destination '80 localhost'",
    ],
    [
      'a proxy port of 0',
      { EGRESS_DNS_PROXY_DESTINATION: '0 example.com' },
      'Invalid port: 0, must be in the range 1 to 65535',
    ],
    [
      'a remote port past 65535',
      { EGRESS_DNS_PROXY_DESTINATION: '80 example.com 65536' },
      'Invalid port: 65536, must be in the range 1 to 65535',
    ],
    [
      'a proxy port used twice',
      { EGRESS_DNS_PROXY_DESTINATION: '80 example.com\n80 203.0.113.25' },
      'Proxy port 80 already used, must be unique for each destination',
    ],
    [
      'the first of several errors',
      { EGRESS_DNS_PROXY_DESTINATION: readTestdata('broken-every-error.txt') },
      "Bad destination 'not a destination'",
    ],
  ];
  for (const [name, env, message] of cases) {
    test(`dns-proxy with ${name}: '${message}', one line on stderr, exit 1, nothing started`, () => {
      assert.deepEqual(runCli(['dns-proxy'], env), { status: 1, stdout: '', stderr: `${message}\n` });
    });
  }

  test('dns-proxy with both the variable and the file: an error, exit 1', () => {
    const path = join(scratch, 'list');
    writeFileSync(path, '80 example.com\n');
    assert.deepEqual(
      runCli(['dns-proxy'], {
        EGRESS_DNS_PROXY_DESTINATION: '80 example.com',
        EGRESS_DNS_PROXY_DESTINATION_FILE: path,
      }),
      {
        status: 1,
        stdout: '',
        stderr: 'EGRESS_DNS_PROXY_DESTINATION and EGRESS_DNS_PROXY_DESTINATION_FILE are both set, use one\n',
      },
    );
  });

  test('dns-proxy with an unreadable file: Must specify, with the reason', () => {
    const path = join(scratch, 'missing');
    assert.deepEqual(runCli(['dns-proxy'], { EGRESS_DNS_PROXY_DESTINATION_FILE: path }), {
      status: 1,
      stdout: '',
      stderr: `Must specify EGRESS_DNS_PROXY_DESTINATION: cannot read EGRESS_DNS_PROXY_DESTINATION_FILE '${path}': ENOENT\n`,
    });
  });

  test('dns-proxy with a bad tuning variable: an error naming it, exit 1', () => {
    assert.deepEqual(
      runCli(['dns-proxy'], {
        EGRESS_DNS_PROXY_DESTINATION: '80 example.com',
        EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS: '1m',
      }),
      {
        status: 1,
        stdout: '',
        stderr:
          "EGRESS_DNS_PROXY_IDLE_TIMEOUT_SECONDS '1m' is invalid: must be a number of seconds from 0 to 86400\n",
      },
    );
  });

  test('dns-proxy with an unknown option: a usage error, exit 1', () => {
    const run = runCli(['dns-proxy', '--verbose'], { EGRESS_DNS_PROXY_DESTINATION: '80 example.com' });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      "dns-proxy: unknown option '--verbose' (see 'egress-router dns-proxy --help')\n",
    );
  });
});

describe('egress-router dns-proxy --check', () => {
  const EXPECTED = [
    'EGRESS_DNS_PROXY_DESTINATION: valid: 4 entries (2 names)',
    '80 -> 203.0.113.25:80',
    '100 -> example.com:100 (name)',
    '8080 -> 203.0.113.26:80',
    '8443 -> foobar.com:443 (name)',
    // The default: one worker per CPU this process (and so the CLI it starts) may use.
    `admin port 9091, connect timeout 10 s, idle timeout 60 s, drain 20 s, TTL 1..30 s, negative hold 30 s, max connections 4000 per worker, workers ${availableCpus()} (one per CPU)`,
    '',
  ].join('\n');

  test("dns-proxy --check prints the compiled entries of the old image's example and exits 0", () => {
    assert.deepEqual(
      runCli(['dns-proxy', '--check'], { EGRESS_DNS_PROXY_DESTINATION: readTestdata('old-image-docs.txt') }),
      {
        status: 0,
        stdout: EXPECTED,
        stderr: '',
      },
    );
  });

  test("EGRESS_DNS_PROXY_MODE=unit-test (the old image's test mode) checks the same way", () => {
    const env = {
      EGRESS_DNS_PROXY_DESTINATION: readTestdata('old-image-docs.txt'),
      EGRESS_DNS_PROXY_MODE: 'unit-test',
    };
    assert.deepEqual(runCli(['dns-proxy'], env), { status: 0, stdout: EXPECTED, stderr: '' });
  });

  test('dns-proxy --check reports every problem with its line, then how many, exit 1', () => {
    const path = testdataPath('broken-every-error.txt');
    const run = runCli(['dns-proxy', '--check'], { EGRESS_DNS_PROXY_DESTINATION_FILE: path });
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    const lines = run.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 14);
    assert.equal(lines[0], `${path}:3: Bad destination 'not a destination'`);
    assert.equal(lines[10], `${path}:13: Proxy port 80 already used, must be unique for each destination`);
    assert.equal(lines.at(-1), `${path}: 13 problems found`);
  });

  test('dns-proxy --help describes the command and its variables', () => {
    const run = runCli(['dns-proxy', '--help']);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^Usage: egress-router dns-proxy \[--check\]/);
    assert.match(run.stdout, /EGRESS_DNS_PROXY_ADMIN_PORT/);
  });
});
