import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { validRouterEnv } from '../destination-parser/_arbitraries.js';
import { CONTRACT_EXAMPLE, DUAL_ENV, IPV4_ENV, mustParse } from '../destination-parser/_testing.js';
import type { RouterEnv } from '../destination-parser/config.js';
import { planRouter } from '../destination-parser/plan.js';
import { renderRuleset } from './render-text.js';
import { asCreation, buildRuleset, type NameAddresses, TABLE_FAMILY, TABLE_NAME } from './ruleset.js';

/**
 * Kernel tests: nft must take the rulesets we build. Every nft call runs inside throwaway network
 * namespaces of this process (`ert-<pid>-…`), never in the host's own; after() removes them.
 *
 * `nft --check` does not run every kernel validation (a dnat in a filter chain passes it on 6.x),
 * so the text-against-JSON tests also load each JSON ruleset for real.
 */

const NAMESPACES = {
  check: `ert-${process.pid}-chk`,
  json: `ert-${process.pid}-json`,
  text: `ert-${process.pid}-text`,
} as const;

const skipReason = (() => {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  if (spawnSync('nft', ['--version']).status !== 0) return 'nft is not installed';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed';
  return undefined;
})();

const created: string[] = [];
let scratch: string | undefined;

/**
 * Runs a command inside one of our namespaces. An `input` is handed over as a file that replaces
 * the argument `-`: nft cannot open /dev/stdin on the socket Node gives a child for `input`.
 */
function inNamespace(namespace: string, args: string[], input?: string): SpawnSyncReturns<string> {
  assert.ok(
    Object.values(NAMESPACES).includes(namespace as never),
    `not one of our namespaces: ${namespace}`,
  );
  let argv = args;
  if (input !== undefined) {
    assert.ok(scratch !== undefined && args.includes('-'));
    const file = join(scratch, 'input.nft');
    writeFileSync(file, input);
    argv = args.map((arg) => (arg === '-' ? file : arg));
  }
  return spawnSync('ip', ['netns', 'exec', namespace, ...argv], { encoding: 'utf8', timeout: 10_000 });
}

function mustRun(namespace: string, args: string[], input?: string): string {
  const run = inNamespace(namespace, args, input);
  assert.equal(
    run.status,
    0,
    `${args.join(' ')} failed in ${namespace}: ${run.stderr}\ninput:\n${input ?? ''}`,
  );
  return run.stdout;
}

/** Addresses for the name maps of the examples (maps of other names stay empty). */
const NAME_ADDRESSES: NameAddresses = new Map([
  ['name4_tcp_80', ['192.0.2.10', '192.0.2.11']],
  ['name6_tcp_80', ['2001:db8::10']],
  ['name4_fallback', ['192.0.2.20', '192.0.2.21', '192.0.2.22']],
]);

function jsonOf(env: RouterEnv): string {
  return JSON.stringify(buildRuleset(planRouter(mustParse(env)).nat, NAME_ADDRESSES));
}

function textOf(env: RouterEnv): string {
  return renderRuleset(planRouter(mustParse(env)).nat, NAME_ADDRESSES);
}

/** Our table as nft lists it in JSON, without handles and metainfo (they differ between loads). */
function listTable(namespace: string): unknown {
  const listed = JSON.parse(mustRun(namespace, ['nft', '-j', 'list', 'table', TABLE_FAMILY, TABLE_NAME])) as {
    nftables: Record<string, unknown>[];
  };
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'handle')
        .map(([key, inner]) => [key, strip(inner)]),
    );
  };
  return strip(listed.nftables.filter((entry) => !('metainfo' in entry)));
}

const EXAMPLES: [string, RouterEnv][] = [
  ['the CONTRACT example', { ...IPV4_ENV, EGRESS_DESTINATION: CONTRACT_EXAMPLE }],
  ['no fallback (refuse chain)', { ...IPV4_ENV, EGRESS_DESTINATION: '80 tcp 10.4.5.6\n53 udp 10.0.0.53' }],
  [
    'dual stack',
    {
      ...DUAL_ENV,
      EGRESS_DESTINATION:
        '53 udp 192.0.2.53\n53 tcp 192.0.2.53\n443 tcp 2001:db8::5 8443\n53 udp 2001:db8::53\n2001:db8::1',
      EGRESS_ROUTER_POD_INTERFACE: 'net1',
      EGRESS_ROUTER_EGRESS_INTERFACE: 'ens3.100',
    },
  ],
  ['http-proxy mode', { ...DUAL_ENV, EGRESS_ROUTER_MODE: 'http-proxy' }],
  [
    'names (legacy mode): dual-stack mappings, a UDP one, an address fallback',
    {
      ...DUAL_ENV,
      EGRESS_ROUTER_MODE: 'legacy',
      EGRESS_DESTINATION:
        '80 tcp db.example.com 5432\n53 udp dns.example.com\n443 tcp 192.0.2.5\n8443 tcp web.example.com 443\n192.0.2.1',
    },
  ],
  [
    'a name fallback (legacy mode)',
    {
      ...IPV4_ENV,
      EGRESS_ROUTER_MODE: 'legacy',
      EGRESS_DESTINATION: '80 tcp db.example.com\nall.example.com',
    },
  ],
  ['comments only', { ...IPV4_ENV, EGRESS_DESTINATION: '# nothing yet' }],
];

describe('nft takes the rulesets (in throwaway network namespaces)', () => {
  before(() => {
    if (skipReason) return;
    scratch = mkdtempSync(join(tmpdir(), 'ert-nft-'));
    for (const namespace of Object.values(NAMESPACES)) {
      const add = spawnSync('ip', ['netns', 'add', namespace], { encoding: 'utf8' });
      assert.equal(add.status, 0, `ip netns add ${namespace}: ${add.stderr}`);
      created.push(namespace);
    }
  });

  after(() => {
    for (const namespace of created.splice(0)) {
      spawnSync('ip', ['netns', 'delete', namespace]);
    }
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  for (const [name, env] of EXAMPLES) {
    test(`buildRuleset() for ${name} passes nft --check`, (t) => {
      if (skipReason) return t.skip(skipReason);
      mustRun(NAMESPACES.check, ['nft', '--check', '-j', '-f', '-'], jsonOf(env));
    });

    test(`renderRuleset() for ${name} loads the same table as buildRuleset()`, (t) => {
      if (skipReason) return t.skip(skipReason);
      mustRun(NAMESPACES.json, ['nft', '-j', '-f', '-'], jsonOf(env));
      mustRun(NAMESPACES.text, ['nft', 'flush', 'ruleset']);
      mustRun(NAMESPACES.text, ['nft', '-f', '-'], textOf(env));
      assert.deepEqual(listTable(NAMESPACES.text), listTable(NAMESPACES.json));
    });
  }

  test('buildRuleset() replaces its own table and leaves every other table alone', (t) => {
    if (skipReason) return t.skip(skipReason);
    const ns = NAMESPACES.json;
    mustRun(ns, ['nft', 'flush', 'ruleset']);
    mustRun(ns, ['nft', '-f', '-'], 'table inet other {\n\tchain c {\n\t\ttcp dport 22 accept\n\t}\n}\n');
    const other = mustRun(ns, ['nft', 'list', 'table', 'inet', 'other']);
    // First load on an empty namespace (the delete must not fail), then a load over a bigger table.
    mustRun(ns, ['nft', '-j', '-f', '-'], jsonOf(EXAMPLES[2]![1]));
    mustRun(ns, ['nft', '-j', '-f', '-'], jsonOf(EXAMPLES[0]![1]));
    mustRun(NAMESPACES.text, ['nft', 'flush', 'ruleset']);
    mustRun(NAMESPACES.text, ['nft', '-j', '-f', '-'], jsonOf(EXAMPLES[0]![1]));
    assert.deepEqual(listTable(ns), listTable(NAMESPACES.text));
    assert.equal(mustRun(ns, ['nft', 'list', 'table', 'inet', 'other']), other);
  });

  test('asCreation() loads the same table on an empty namespace and changes nothing where the table exists', (t) => {
    if (skipReason) return t.skip(skipReason);
    const ns = NAMESPACES.json;
    const creationOf = (env: RouterEnv) =>
      JSON.stringify(asCreation(buildRuleset(planRouter(mustParse(env)).nat, NAME_ADDRESSES)));
    for (const [, env] of EXAMPLES) {
      mustRun(ns, ['nft', 'flush', 'ruleset']);
      mustRun(ns, ['nft', '-j', '-f', '-'], creationOf(env));
      mustRun(NAMESPACES.text, ['nft', 'flush', 'ruleset']);
      mustRun(NAMESPACES.text, ['nft', '-j', '-f', '-'], jsonOf(env));
      assert.deepEqual(listTable(ns), listTable(NAMESPACES.text));
    }
    // Over an existing (different) table the creation is refused as a whole.
    const before = listTable(ns);
    const refused = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-j', '-f', '-'], {
      input: creationOf(EXAMPLES[0]![1]),
      encoding: 'utf8',
    });
    assert.notEqual(refused.status, 0);
    assert.deepEqual(listTable(ns), before);
  });

  test('buildRuleset() of any valid configuration passes nft --check', (t) => {
    if (skipReason) return t.skip(skipReason);
    fc.assert(
      fc.property(validRouterEnv, (env) => {
        mustRun(NAMESPACES.check, ['nft', '--check', '-j', '-f', '-'], jsonOf(env));
      }),
      { numRuns: 40 },
    );
  });

  test('renderRuleset() and buildRuleset() of any valid configuration load the same table', (t) => {
    if (skipReason) return t.skip(skipReason);
    fc.assert(
      fc.property(validRouterEnv, (env) => {
        // The JSON namespace keeps the previous run's table: the load must replace it wholly.
        mustRun(NAMESPACES.json, ['nft', '-j', '-f', '-'], jsonOf(env));
        mustRun(NAMESPACES.text, ['nft', 'flush', 'ruleset']);
        mustRun(NAMESPACES.text, ['nft', '-f', '-'], textOf(env));
        assert.deepEqual(listTable(NAMESPACES.text), listTable(NAMESPACES.json));
      }),
      { numRuns: 25 },
    );
  });
});
