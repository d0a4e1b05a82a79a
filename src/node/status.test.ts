import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NamespaceCounters } from '../firewall/rule-counters.js';
import { formatStatus, type NodeStatus } from './status.js';

const AT = '2024-05-01T12:00:00.000Z';

/** A status with nothing in it but what the test gives. */
function status(overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    node: 'node-1',
    source: 'dir:/etc/egress-router/cluster',
    namespaces: [],
    dnsNames: [],
    problems: [],
    ...overrides,
  };
}

const lines = (text: string) => text.split('\n');

describe('formatStatus(): the header', () => {
  test('formatStatus() before the first reconcile, with no policy anywhere', () => {
    assert.equal(
      formatStatus(status()),
      [
        'node node-1, source dir:/etc/egress-router/cluster',
        'no reconcile yet',
        '',
        'egress firewall:',
        '  no EgressNetworkPolicy',
        '',
      ].join('\n'),
    );
  });

  test('formatStatus() shows an applied reconcile: when, nft commands, how long', () => {
    const text = formatStatus(
      status({ source: 'kubernetes', lastReconcile: { at: AT, durationMs: 12.5, ok: true, commands: 0 } }),
    );
    assert.deepEqual(lines(text).slice(0, 2), [
      'node node-1, source kubernetes',
      `last reconcile ${AT}: applied, 0 nft commands, 12.5 ms`,
    ]);
  });

  test('formatStatus() says when the rules were last restored, what differed and how often', () => {
    const text = formatStatus(
      status({
        lastReconcile: { at: AT, durationMs: 30, ok: true, commands: 1046 },
        lastRestore: {
          at: AT,
          drift: ['chain forward has 0 rules, 3 applied', 'set pods4.1 is gone'],
          count: 2,
        },
      }),
    );
    assert.equal(
      lines(text)[2],
      `rules restored 2 times, last ${AT}: chain forward has 0 rules, 3 applied; set pods4.1 is gone`,
    );
  });

  test("formatStatus() shows a refused reconcile with nft's error, and that the rules before it stay", () => {
    const text = formatStatus(
      status({
        lastReconcile: {
          at: AT,
          durationMs: 40,
          ok: false,
          error: 'Error: Could not process rule: No buffer space available',
          commands: 17,
        },
      }),
    );
    assert.equal(
      lines(text)[1],
      `last reconcile ${AT}: FAILED (Error: Could not process rule: No buffer space available); the rules before it stay, 17 nft commands, 40 ms`,
    );
  });

  test('formatStatus() ends its text in exactly one newline', () => {
    for (const s of [status(), status({ problems: [{ origin: 'a.yaml', message: 'm' }] })]) {
      const text = formatStatus(s);
      assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'), JSON.stringify(text));
    }
  });
});

describe('formatStatus(): the namespaces', () => {
  test('formatStatus() reproduces the documented example (docs/node-agent.md, Counters)', () => {
    const counters: NamespaceCounters[] = [
      {
        namespace: 'alpha',
        rules: [
          { index: 0, type: 'Allow', to: '1.2.3.0/24', packets: 12, bytes: 720 },
          { index: 1, type: 'Allow', to: 'www.foo.com', packets: 40, bytes: 2400 },
          { index: 2, type: 'Deny', to: '0.0.0.0/0', packets: 3, bytes: 180 },
        ],
        unmatched: { packets: 0, bytes: 0 },
        failedClosed: false,
      },
    ];
    const text = formatStatus(
      status({
        namespaces: [
          { namespace: 'alpha', policies: ['default'], state: 'enforced', warnings: [], rules: 3, pods: 2 },
        ],
        counters,
      }),
    );
    assert.deepEqual(lines(text).slice(2), [
      '',
      'egress firewall:',
      '  alpha: enforced (default), 2 pods on this node: 3 rules',
      '    [0] Allow 1.2.3.0/24: 12 packets, 720 bytes',
      '    [1] Allow www.foo.com: 40 packets, 2400 bytes',
      '    [2] Deny 0.0.0.0/0: 3 packets, 180 bytes',
      '    no rule matched (allowed): 0 packets, 0 bytes',
      '',
    ]);
  });

  test('formatStatus() shows enforced, failed-closed and ignored namespaces with their reasons, errors, warnings and counters', () => {
    const text = formatStatus(
      status({
        node: 'node-2',
        lastReconcile: { at: AT, durationMs: 3, ok: true, commands: 9 },
        namespaces: [
          {
            namespace: 'alpha',
            policies: ['default'],
            state: 'enforced',
            warnings: [
              'spec.egress[1] denies 0.0.0.0/0, which covers IPv4 only: IPv6 destinations no rule matches are allowed (add a Deny of ::/0)',
              'spec.egress[0] dnsName www.foo.com has no address yet (it matches nothing until it resolves)',
            ],
            rules: 2,
            pods: 1,
          },
          {
            namespace: 'beta',
            policies: ['first', 'second'],
            state: 'failed-closed',
            reason:
              'multiple EgressNetworkPolicies in same network namespace (beta:first, beta:second) is not allowed; dropping all traffic',
            warnings: [],
            pods: 3,
          },
          {
            namespace: 'default',
            policies: ['p'],
            state: 'not-enforced',
            reason: 'EgressNetworkPolicy in global network namespace is not allowed (default:p); ignoring',
            warnings: [],
            pods: 0,
          },
          {
            namespace: 'gamma',
            policies: ['bad'],
            state: 'failed-closed',
            reason:
              'invalid EgressNetworkPolicy gamma/bad: spec.egress[0].type: Invalid value: "Foo": invalid policy type (and 1 more); dropping all traffic',
            errors: [
              'spec.egress[0].type: Invalid value: "Foo": invalid policy type',
              'spec.egress[1].to: Invalid value: "": must specify cidrSelector or dnsName',
            ],
            warnings: [],
            pods: 1,
          },
        ],
        counters: [
          {
            namespace: 'alpha',
            rules: [
              { index: 0, type: 'Allow', to: 'www.foo.com', packets: 0, bytes: 0 },
              { index: 1, type: 'Deny', to: '0.0.0.0/0', packets: 5, bytes: 300 },
            ],
            unmatched: { packets: 7, bytes: 560 },
            failedClosed: false,
          },
          { namespace: 'beta', rules: [], unmatched: { packets: 21, bytes: 1260 }, failedClosed: true },
          { namespace: 'gamma', rules: [], unmatched: { packets: 0, bytes: 0 }, failedClosed: true },
        ],
      }),
    );
    assert.equal(
      text,
      [
        'node node-2, source dir:/etc/egress-router/cluster',
        `last reconcile ${AT}: applied, 9 nft commands, 3 ms`,
        '',
        'egress firewall:',
        '  alpha: enforced (default), 1 pods on this node: 2 rules',
        '    warning: spec.egress[1] denies 0.0.0.0/0, which covers IPv4 only: IPv6 destinations no rule matches are allowed (add a Deny of ::/0)',
        '    warning: spec.egress[0] dnsName www.foo.com has no address yet (it matches nothing until it resolves)',
        '    [0] Allow www.foo.com: 0 packets, 0 bytes',
        '    [1] Deny 0.0.0.0/0: 5 packets, 300 bytes',
        '    no rule matched (allowed): 7 packets, 560 bytes',
        '  beta: failed-closed (first, second), 3 pods on this node: multiple EgressNetworkPolicies in same network namespace (beta:first, beta:second) is not allowed; dropping all traffic',
        '    dropped: 21 packets, 1260 bytes',
        '  default: not-enforced (p), 0 pods on this node: EgressNetworkPolicy in global network namespace is not allowed (default:p); ignoring',
        '  gamma: failed-closed (bad), 1 pods on this node: invalid EgressNetworkPolicy gamma/bad: spec.egress[0].type: Invalid value: "Foo": invalid policy type (and 1 more); dropping all traffic',
        '    error: spec.egress[0].type: Invalid value: "Foo": invalid policy type',
        '    error: spec.egress[1].to: Invalid value: "": must specify cidrSelector or dnsName',
        '    dropped: 0 packets, 0 bytes',
        '',
      ].join('\n'),
    );
  });

  test('formatStatus() without counters (read from the status file) shows no counter lines', () => {
    const text = formatStatus(
      status({
        namespaces: [
          { namespace: 'alpha', policies: ['default'], state: 'enforced', warnings: [], rules: 1, pods: 0 },
          {
            namespace: 'beta',
            policies: ['a'],
            state: 'failed-closed',
            reason:
              'EgressNetworkPolicy not allowed in shared NetNamespace (beta, delta); dropping all traffic',
            warnings: [],
            pods: 0,
          },
        ],
      }),
    );
    assert.deepEqual(lines(text).slice(3), [
      'egress firewall:',
      '  alpha: enforced (default), 0 pods on this node: 1 rules',
      '  beta: failed-closed (a), 0 pods on this node: EgressNetworkPolicy not allowed in shared NetNamespace (beta, delta); dropping all traffic',
      '',
    ]);
  });

  test("formatStatus() shows a namespace's counters under it only, and none of a namespace without status", () => {
    const text = formatStatus(
      status({
        namespaces: [
          { namespace: 'alpha', policies: ['default'], state: 'enforced', warnings: [], rules: 1, pods: 1 },
          { namespace: 'beta', policies: ['default'], state: 'enforced', warnings: [], rules: 1, pods: 1 },
        ],
        counters: [
          {
            namespace: 'beta',
            rules: [{ index: 0, type: 'Deny', to: '192.0.2.0/24', packets: 1, bytes: 84 }],
            unmatched: { packets: 2, bytes: 168 },
            failedClosed: false,
          },
          {
            namespace: 'zeta',
            rules: [{ index: 0, type: 'Deny', to: '0.0.0.0/0', packets: 99, bytes: 9900 }],
            unmatched: { packets: 99, bytes: 9900 },
            failedClosed: false,
          },
        ],
      }),
    );
    assert.deepEqual(lines(text).slice(4), [
      '  alpha: enforced (default), 1 pods on this node: 1 rules',
      '  beta: enforced (default), 1 pods on this node: 1 rules',
      '    [0] Deny 192.0.2.0/24: 1 packets, 84 bytes',
      '    no rule matched (allowed): 2 packets, 168 bytes',
      '',
    ]);
  });
});

describe('formatStatus(): dnsNames and objects left out', () => {
  test('formatStatus() shows each dnsName with its addresses, their time left, the last error and the next lookup', () => {
    const text = formatStatus(
      status({
        dnsNames: [
          {
            name: 'www.foo.com',
            addresses: [
              { address: '5.6.7.8', expiresInSeconds: 30 },
              { address: '2001:db8::8', expiresInSeconds: 1800 },
            ],
            failures: 0,
            lastError: undefined,
            nextLookupInSeconds: 30,
          },
          {
            name: 'gone.example.com',
            addresses: [],
            failures: 3,
            lastError: 'ENOTFOUND',
            nextLookupInSeconds: 4,
          },
          {
            name: 'stale.example.com',
            addresses: [{ address: '192.0.2.1', expiresInSeconds: 0 }],
            failures: 1,
            lastError: 'ETIMEOUT',
            nextLookupInSeconds: undefined,
          },
          {
            name: 'new.example.com',
            addresses: [],
            failures: 0,
            lastError: undefined,
            nextLookupInSeconds: 0,
          },
        ],
      }),
    );
    assert.deepEqual(lines(text).slice(5), [
      '',
      'dnsNames:',
      '  www.foo.com: 5.6.7.8 (30s), 2001:db8::8 (1800s), next lookup in 30s',
      '  gone.example.com: no address, last lookup ENOTFOUND (3 in a row), next lookup in 4s',
      '  stale.example.com: 192.0.2.1 (0s), last lookup ETIMEOUT (1 in a row)',
      '  new.example.com: no address, next lookup in 0s',
      '',
    ]);
  });

  test('formatStatus() lists the objects the source left out, by origin', () => {
    const text = formatStatus(
      status({
        problems: [
          {
            origin: '/etc/egress-router/cluster/policies.yaml (document 2)',
            message: 'not YAML: bad indentation',
          },
          { origin: 'EgressNetworkPolicy alpha/p', message: "unknown field 'spec.egres'" },
        ],
      }),
    );
    assert.deepEqual(lines(text).slice(4), [
      '  no EgressNetworkPolicy',
      '',
      'objects left out:',
      '  /etc/egress-router/cluster/policies.yaml (document 2): not YAML: bad indentation',
      "  EgressNetworkPolicy alpha/p: unknown field 'spec.egres'",
      '',
    ]);
  });

  test('formatStatus() puts the sections in order: header, firewall, dnsNames, objects left out', () => {
    const text = formatStatus(
      status({
        namespaces: [
          { namespace: 'alpha', policies: ['default'], state: 'enforced', warnings: [], rules: 1, pods: 1 },
        ],
        dnsNames: [
          { name: 'a.example', addresses: [], failures: 0, lastError: undefined, nextLookupInSeconds: 1 },
        ],
        problems: [{ origin: 'o', message: 'm' }],
      }),
    );
    assert.equal(
      text,
      [
        'node node-1, source dir:/etc/egress-router/cluster',
        'no reconcile yet',
        '',
        'egress firewall:',
        '  alpha: enforced (default), 1 pods on this node: 1 rules',
        '',
        'dnsNames:',
        '  a.example: no address, next lookup in 1s',
        '',
        'objects left out:',
        '  o: m',
        '',
      ].join('\n'),
    );
  });
});
