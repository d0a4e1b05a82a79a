import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterStateBuilder, flattenLists, readClusterObject } from '../cluster/objects.js';
import type { ClusterState } from '../cluster/types.js';
import type { RuleRange } from './compile-intervals.js';
import { bigIntToIp, type IpRange, parseCanonicalCidr } from './ip-range.js';
import { type CompileCache, type FirewallPlan, type NamespaceStatus, planFirewall } from './plan.js';

const NODE = 'node-1';

function range(text: string): IpRange {
  const parsed = parseCanonicalCidr(text);
  assert.ok(parsed.ok, text);
  return parsed.range;
}

const CLUSTER_V4 = [range('10.128.0.0/14')];
const CLUSTER_DUAL = [range('10.128.0.0/14'), range('fd01::/48')];
const SERVICES = [range('172.30.0.0/16')];

// Manifests, as `oc get -o yaml` prints them.
const policy = (namespace: string, name: string, egress: unknown) => ({
  apiVersion: 'network.openshift.io/v1',
  kind: 'EgressNetworkPolicy',
  metadata: { name, namespace },
  spec: { egress },
});
const netNamespace = (name: string, netid: number) => ({
  apiVersion: 'network.openshift.io/v1',
  kind: 'NetNamespace',
  metadata: { name },
  netname: name,
  netid,
});
const pod = (
  namespace: string,
  name: string,
  ips: string[],
  options: { node?: string | null; phase?: string; hostNetwork?: boolean } = {},
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace },
  spec: {
    ...(options.node === null ? {} : { nodeName: options.node ?? NODE }),
    ...(options.hostNetwork ? { hostNetwork: true } : {}),
  },
  status: { phase: options.phase ?? 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
});
const allow = (to: string) =>
  to.includes('/') ? { type: 'Allow', to: { cidrSelector: to } } : { type: 'Allow', to: { dnsName: to } };
const deny = (to: string) =>
  to.includes('/') ? { type: 'Deny', to: { cidrSelector: to } } : { type: 'Deny', to: { dnsName: to } };

/** The state of these documents (lists flattened), read as a source reads them. */
function stateOf(documents: readonly unknown[]): ClusterState {
  const builder = new ClusterStateBuilder();
  for (const document of documents.flatMap((d) => flattenLists(d))) {
    const read = readClusterObject(document);
    if (!read.ok) throw new Error(read.message);
    if (read.object !== undefined) builder.add(read.object);
  }
  return builder.build();
}

interface Options {
  dns?: Record<string, string[]>;
  clusterNetworks?: IpRange[];
  maxRules?: number;
  cache?: CompileCache;
}

function plan(documents: readonly unknown[], options: Options = {}): FirewallPlan {
  return planFirewall(
    {
      state: stateOf(documents),
      nodeName: NODE,
      clusterNetworks: options.clusterNetworks ?? CLUSTER_V4,
      serviceNetworks: SERVICES,
      dns: new Map(Object.entries(options.dns ?? {})),
      ...(options.maxRules === undefined ? {} : { maxRules: options.maxRules }),
    },
    options.cache,
  );
}

function status(p: FirewallPlan, namespace: string): NamespaceStatus {
  const found = p.statuses.find((s) => s.namespace === namespace);
  assert.ok(found, `no status for ${namespace}`);
  return found;
}

/** A family's compiled ranges as address text, to read them. */
const ranges = (list: readonly RuleRange[], family: 4 | 6) =>
  list.map((r) => [bigIntToIp(r.start, family), bigIntToIp(r.end, family), r.rule]);

const SEED = policy('myproject', 'default', [allow('1.2.3.0/24'), allow('www.foo.com'), deny('0.0.0.0/0')]);

describe('planFirewall(): which namespaces are filtered', () => {
  test('planFirewall() without policies plans nothing', () => {
    const p = plan([pod('myproject', 'web', ['10.128.0.5'])]);
    assert.deepEqual(p, {
      clusterNetworks: CLUSTER_V4,
      serviceNetworks: SERVICES,
      namespaces: new Map(),
      pods: new Map(),
      statuses: [],
      dnsNames: new Set(),
    });
  });

  test("planFirewall() enforces the seed's example policy: rules in order, first match wins", () => {
    const p = plan([SEED, pod('myproject', 'web', ['10.128.0.5'])], { dns: { 'www.foo.com': ['5.6.7.8'] } });
    const firewall = p.namespaces.get('myproject');
    assert.ok(firewall?.mode === 'enforce');
    assert.equal(firewall.policy, 'myproject/default');
    assert.deepEqual(
      firewall.rules.map((r) => [r.index, r.type, r.to.kind === 'cidr' ? r.to.cidr : r.to.name]),
      [
        [0, 'Allow', '1.2.3.0/24'],
        [1, 'Allow', 'www.foo.com'],
        [2, 'Deny', '0.0.0.0/0'],
      ],
    );
    assert.deepEqual(ranges(firewall.ranges[4], 4), [
      ['0.0.0.0', '1.2.2.255', 2],
      ['1.2.3.0', '1.2.3.255', 0],
      ['1.2.4.0', '5.6.7.7', 2],
      ['5.6.7.8', '5.6.7.8', 1],
      ['5.6.7.9', '255.255.255.255', 2],
    ]);
    assert.deepEqual(firewall.ranges[6], []);
    assert.deepEqual(p.pods, new Map([['10.128.0.5', 'myproject']]));
    assert.deepEqual(p.dnsNames, new Set(['www.foo.com']));
    assert.deepEqual(p.statuses, [
      { namespace: 'myproject', policies: ['default'], state: 'enforced', warnings: [], rules: 3, pods: 1 },
    ]);
  });

  test('planFirewall() takes a policy with no rules as no policy', () => {
    const p = plan([policy('myproject', 'empty', []), pod('myproject', 'web', ['10.128.0.5'])]);
    assert.deepEqual(p.namespaces, new Map());
    assert.deepEqual(p.pods, new Map());
    assert.deepEqual(p.statuses, []);
  });

  test('planFirewall() does not count an empty policy beside another one as a second policy', () => {
    const p = plan([policy('myproject', 'a-empty', []), SEED]);
    assert.equal(p.namespaces.get('myproject')?.mode, 'enforce');
    assert.deepEqual(status(p, 'myproject').policies, ['default']);
  });

  test('planFirewall() does not enforce a policy in default (no NetNamespace: plain Kubernetes), with a status', () => {
    const p = plan([policy('default', 'p', [deny('0.0.0.0/0')]), pod('default', 'router', ['10.128.0.2'])]);
    assert.deepEqual(p.namespaces, new Map());
    assert.deepEqual(p.pods, new Map());
    assert.deepEqual(p.dnsNames, new Set());
    assert.deepEqual(p.statuses, [
      {
        namespace: 'default',
        policies: ['p'],
        state: 'not-enforced',
        reason: 'EgressNetworkPolicy in global network namespace is not allowed (default:p); ignoring',
        warnings: [],
        pods: 0,
      },
    ]);
  });

  test('planFirewall() does not enforce a policy in a global namespace (netid 0), listing every policy in it', () => {
    const p = plan([
      netNamespace('default', 0),
      netNamespace('infra', 0),
      netNamespace('myproject', 11),
      policy('infra', 'b', [allow('www.foo.com')]),
      policy('infra', 'a', [deny('0.0.0.0/0')]),
      SEED,
    ]);
    assert.deepEqual(status(p, 'infra'), {
      namespace: 'infra',
      policies: ['a', 'b'],
      state: 'not-enforced',
      reason: 'EgressNetworkPolicy in global network namespace is not allowed (infra:a, infra:b); ignoring',
      warnings: [],
      pods: 0,
    });
    assert.equal(p.namespaces.has('infra'), false);
    assert.equal(p.namespaces.get('myproject')?.mode, 'enforce');
    assert.deepEqual(
      p.dnsNames,
      new Set(['www.foo.com']),
      "a name of an ignored policy is not followed (only the seed's)",
    );
  });

  test('planFirewall() enforces a policy in default when its NetNamespace is not global', () => {
    const p = plan([netNamespace('default', 7), policy('default', 'p', [deny('0.0.0.0/0')])]);
    assert.equal(p.namespaces.get('default')?.mode, 'enforce');
    assert.equal(status(p, 'default').state, 'enforced');
  });

  test('planFirewall() fails every namespace of a shared netid closed, with or without a policy of its own', () => {
    const p = plan([
      netNamespace('b', 5),
      netNamespace('a', 5),
      netNamespace('c', 5),
      netNamespace('other', 6),
      policy('b', 'p', [allow('1.2.3.0/24')]),
      policy('other', 'p', [deny('0.0.0.0/0')]),
      pod('a', 'x', ['10.128.0.10']),
      pod('c', 'y', ['10.128.0.11']),
      pod('other', 'z', ['10.128.0.12']),
    ]);
    const reason = 'EgressNetworkPolicy not allowed in shared NetNamespace (a, b, c); dropping all traffic';
    for (const namespace of ['a', 'b', 'c']) {
      assert.deepEqual(p.namespaces.get(namespace), { mode: 'closed', reason }, namespace);
    }
    assert.equal(p.namespaces.get('other')?.mode, 'enforce');
    assert.deepEqual(p.statuses, [
      { namespace: 'a', policies: [], state: 'failed-closed', reason, warnings: [], pods: 1 },
      { namespace: 'b', policies: ['p'], state: 'failed-closed', reason, warnings: [], pods: 0 },
      { namespace: 'c', policies: [], state: 'failed-closed', reason, warnings: [], pods: 1 },
      { namespace: 'other', policies: ['p'], state: 'enforced', warnings: [], rules: 1, pods: 1 },
    ]);
    assert.deepEqual(
      p.pods,
      new Map([
        ['10.128.0.10', 'a'],
        ['10.128.0.11', 'c'],
        ['10.128.0.12', 'other'],
      ]),
    );
  });

  test('planFirewall() leaves joined namespaces alone while none of them has a policy', () => {
    const p = plan([netNamespace('a', 5), netNamespace('b', 5), policy('a', 'empty', [])]);
    assert.deepEqual(p.namespaces, new Map());
    assert.deepEqual(p.statuses, []);
  });

  test('planFirewall() fails a namespace with two policies closed, naming both sorted, and no other', () => {
    const p = plan([
      policy('myproject', 'second', [allow('www.bar.com')]),
      policy('myproject', 'first', [deny('0.0.0.0/0')]),
      policy('other', 'p', [deny('0.0.0.0/0')]),
      pod('myproject', 'web', ['10.128.0.5']),
    ]);
    const reason =
      'multiple EgressNetworkPolicies in same network namespace (myproject:first, myproject:second) is not allowed; dropping all traffic';
    assert.deepEqual(p.namespaces.get('myproject'), { mode: 'closed', reason });
    assert.deepEqual(status(p, 'myproject'), {
      namespace: 'myproject',
      policies: ['first', 'second'],
      state: 'failed-closed',
      reason,
      warnings: [],
      pods: 1,
    });
    assert.equal(p.namespaces.get('other')?.mode, 'enforce');
    assert.deepEqual(p.dnsNames, new Set(), 'a closed namespace follows no names');
  });

  test('planFirewall() fails an invalid policy closed for its namespace only, with every message', () => {
    const p = plan([
      policy('bad', 'p', [
        { type: 'Foo', to: { cidrSelector: '1.2.3.0/24' } },
        allow('1.2.3.4/24'),
        allow('ok.example'),
      ]),
      policy('one', 'p', [allow('Foo.com')]),
      SEED,
      pod('bad', 'x', ['10.128.0.20']),
    ]);
    const errors = [
      'spec.egress[0].type: Invalid value: "Foo": invalid policy type',
      'spec.egress[1].to.cidrSelector: Invalid value: "1.2.3.4/24": CIDR network specification "1.2.3.4/24" is not in canonical form (should be 1.2.3.0/24 or 1.2.3.4/32?)',
    ];
    const reason = `invalid EgressNetworkPolicy bad/p: ${errors[0]} (and 1 more); dropping all traffic`;
    assert.deepEqual(p.namespaces.get('bad'), { mode: 'closed', reason });
    assert.deepEqual(status(p, 'bad'), {
      namespace: 'bad',
      policies: ['p'],
      state: 'failed-closed',
      reason,
      errors,
      warnings: [],
      pods: 1,
    });
    const one =
      'spec.egress[0].to.dnsName: Invalid value: "Foo.com": must conform to DNS 952 subdomain conventions';
    assert.deepEqual(status(p, 'one'), {
      namespace: 'one',
      policies: ['p'],
      state: 'failed-closed',
      reason: `invalid EgressNetworkPolicy one/p: ${one}; dropping all traffic`,
      errors: [one],
      warnings: [],
      pods: 0,
    });
    assert.equal(p.namespaces.get('myproject')?.mode, 'enforce');
    assert.equal(status(p, 'myproject').state, 'enforced');
    assert.deepEqual(p.dnsNames, new Set(['www.foo.com']), "the invalid policy's ok.example is not followed");
  });

  test('planFirewall() fails a policy over the rule limit closed', () => {
    const p = plan(
      [policy('myproject', 'p', [allow('1.2.3.0/24'), allow('1.2.4.0/24'), deny('0.0.0.0/0')])],
      {
        maxRules: 2,
      },
    );
    assert.deepEqual(p.namespaces.get('myproject'), {
      mode: 'closed',
      reason:
        'invalid EgressNetworkPolicy myproject/p: spec.egress: Invalid value: "": too many egress rules (max 2); dropping all traffic',
    });
  });

  test('planFirewall() fails a policy without spec.egress closed (the CRD requires it)', () => {
    const p = plan([
      {
        apiVersion: 'network.openshift.io/v1',
        kind: 'EgressNetworkPolicy',
        metadata: { name: 'p', namespace: 'x' },
      },
    ]);
    assert.deepEqual(status(p, 'x').errors, ['spec.egress: Required value']);
    assert.equal(p.namespaces.get('x')?.mode, 'closed');
  });

  test('planFirewall() lists the statuses sorted by namespace', () => {
    const p = plan([
      policy('zeta', 'p', [deny('0.0.0.0/0')]),
      policy('alpha', 'p', [deny('0.0.0.0/0')]),
      policy('default', 'p', [deny('0.0.0.0/0')]),
      policy('mid', 'p', [{ type: 'Nope' }]),
    ]);
    assert.deepEqual(
      p.statuses.map((s) => [s.namespace, s.state]),
      [
        ['alpha', 'enforced'],
        ['default', 'not-enforced'],
        ['mid', 'failed-closed'],
        ['zeta', 'enforced'],
      ],
    );
  });
});

describe('planFirewall(): rules, corrections and warnings', () => {
  test("planFirewall() takes 0.0.0.0/32 as 0.0.0.0/0 with openshift-sdn's warning", () => {
    const p = plan([policy('myproject', 'p', [allow('1.2.3.0/24'), deny('0.0.0.0/32')])]);
    const firewall = p.namespaces.get('myproject');
    assert.ok(firewall?.mode === 'enforce');
    assert.deepEqual(firewall.rules[1], {
      index: 1,
      type: 'Deny',
      to: { kind: 'cidr', cidr: '0.0.0.0/0', range: range('0.0.0.0/0') },
    });
    assert.deepEqual(ranges(firewall.ranges[4], 4), [
      ['0.0.0.0', '1.2.2.255', 1],
      ['1.2.3.0', '1.2.3.255', 0],
      ['1.2.4.0', '255.255.255.255', 1],
    ]);
    assert.deepEqual(status(p, 'myproject').warnings, [
      "Correcting CIDRSelector '0.0.0.0/32' to '0.0.0.0/0' in EgressNetworkPolicy myproject:p",
    ]);
  });

  test('planFirewall() on a dual-stack cluster warns of a Deny of 0.0.0.0/0 without one of ::/0', () => {
    const p = plan([policy('myproject', 'p', [allow('1.2.3.0/24'), deny('0.0.0.0/0')])], {
      clusterNetworks: CLUSTER_DUAL,
    });
    assert.deepEqual(status(p, 'myproject').warnings, [
      'spec.egress[1] denies 0.0.0.0/0, which covers IPv4 only: IPv6 destinations no rule matches are allowed (add a Deny of ::/0)',
    ]);
    assert.equal(p.namespaces.get('myproject')?.mode, 'enforce');
  });

  test('planFirewall() warns of the IPv4-only Deny of a corrected 0.0.0.0/32 too, after the correction', () => {
    const p = plan([policy('myproject', 'p', [deny('0.0.0.0/32')])], { clusterNetworks: CLUSTER_DUAL });
    assert.deepEqual(status(p, 'myproject').warnings, [
      "Correcting CIDRSelector '0.0.0.0/32' to '0.0.0.0/0' in EgressNetworkPolicy myproject:p",
      'spec.egress[0] denies 0.0.0.0/0, which covers IPv4 only: IPv6 destinations no rule matches are allowed (add a Deny of ::/0)',
    ]);
  });

  test('planFirewall() does not warn of 0.0.0.0/0 when a rule decides ::/0, or on an IPv4-only cluster', () => {
    const dual = { clusterNetworks: CLUSTER_DUAL };
    const withV6 = plan([policy('a', 'p', [deny('0.0.0.0/0'), deny('::/0')])], dual);
    assert.deepEqual(status(withV6, 'a').warnings, []);
    const allowV6 = plan([policy('a', 'p', [allow('::/0'), deny('0.0.0.0/0')])], dual);
    assert.deepEqual(status(allowV6, 'a').warnings, []);
    const allowV4 = plan([policy('a', 'p', [allow('0.0.0.0/0')])], dual);
    assert.deepEqual(status(allowV4, 'a').warnings, [], 'an Allow of 0.0.0.0/0 is not a deny-all');
    const v4Only = plan([policy('a', 'p', [deny('0.0.0.0/0')])]);
    assert.deepEqual(status(v4Only, 'a').warnings, []);
  });

  test('planFirewall() compiles IPv6 rules into the IPv6 ranges', () => {
    const p = plan([policy('a', 'p', [allow('2001:db8:123::/48'), deny('::/0'), deny('0.0.0.0/0')])], {
      clusterNetworks: CLUSTER_DUAL,
    });
    const firewall = p.namespaces.get('a');
    assert.ok(firewall?.mode === 'enforce');
    assert.deepEqual(ranges(firewall.ranges[6], 6), [
      ['::', '2001:db8:122:ffff:ffff:ffff:ffff:ffff', 1],
      ['2001:db8:123::', '2001:db8:123:ffff:ffff:ffff:ffff:ffff', 0],
      ['2001:db8:124::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 1],
    ]);
    assert.deepEqual(ranges(firewall.ranges[4], 4), [['0.0.0.0', '255.255.255.255', 2]]);
  });

  test('planFirewall() lists the dnsNames of enforced policies and uses the addresses passed in, of both families', () => {
    const p = plan(
      [
        policy('a', 'p', [deny('blocked.example'), allow('www.foo.com'), deny('0.0.0.0/0'), deny('::/0')]),
        policy('b', 'p', [allow('www.foo.com'), allow('api.example')]),
      ],
      {
        clusterNetworks: CLUSTER_DUAL,
        dns: {
          'www.foo.com': ['5.6.7.8', '2001:db8::80'],
          'blocked.example': ['5.6.7.8'],
          'api.example': ['9.9.9.9'],
        },
      },
    );
    assert.deepEqual(p.dnsNames, new Set(['blocked.example', 'www.foo.com', 'api.example']));
    const a = p.namespaces.get('a');
    assert.ok(a?.mode === 'enforce');
    assert.deepEqual(ranges(a.ranges[4], 4), [
      ['0.0.0.0', '5.6.7.7', 2],
      ['5.6.7.8', '5.6.7.8', 0],
      ['5.6.7.9', '255.255.255.255', 2],
    ]);
    assert.deepEqual(ranges(a.ranges[6], 6), [
      ['::', '2001:db8::7f', 3],
      ['2001:db8::80', '2001:db8::80', 1],
      ['2001:db8::81', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 3],
    ]);
    const b = p.namespaces.get('b');
    assert.ok(b?.mode === 'enforce');
    assert.deepEqual(ranges(b.ranges[4], 4), [
      ['5.6.7.8', '5.6.7.8', 0],
      ['9.9.9.9', '9.9.9.9', 1],
    ]);
    assert.deepEqual(status(p, 'a').warnings, []);
  });

  test('planFirewall() warns of a dnsName without addresses yet, which matches nothing', () => {
    const p = plan([policy('a', 'p', [allow('www.foo.com'), allow('later.example'), deny('0.0.0.0/0')])], {
      dns: { 'www.foo.com': ['5.6.7.8'], 'later.example': [] },
    });
    assert.deepEqual(status(p, 'a').warnings, [
      'spec.egress[1] dnsName later.example has no address yet (it matches nothing until it resolves)',
    ]);
    const none = plan([policy('a', 'p', [allow('www.foo.com')])]);
    assert.deepEqual(status(none, 'a').warnings, [
      'spec.egress[0] dnsName www.foo.com has no address yet (it matches nothing until it resolves)',
    ]);
    const firewall = none.namespaces.get('a');
    assert.ok(firewall?.mode === 'enforce');
    assert.deepEqual(firewall.ranges, { 4: [], 6: [] });
    assert.deepEqual(none.dnsNames, new Set(['www.foo.com']), 'a name without addresses is still followed');
  });

  test('planFirewall() gives the same compiled namespace from the cache while the policy and answers stay', () => {
    const cache: CompileCache = new Map();
    const documents = [SEED, policy('other', 'p', [deny('0.0.0.0/0')])];
    const first = plan(documents, { cache, dns: { 'www.foo.com': ['5.6.7.8'] } });
    const second = plan(documents, { cache, dns: { 'www.foo.com': ['5.6.7.8'] } });
    assert.equal(second.namespaces.get('myproject'), first.namespaces.get('myproject'));
    const moved = plan(documents, { cache, dns: { 'www.foo.com': ['5.6.7.9'] } });
    assert.notEqual(moved.namespaces.get('myproject'), first.namespaces.get('myproject'));
    assert.deepEqual(moved, plan(documents, { dns: { 'www.foo.com': ['5.6.7.9'] } }), 'as without a cache');
    plan([SEED], { cache });
    assert.deepEqual([...cache.keys()], ['myproject'], 'a namespace no longer enforced leaves the cache');
  });
});

describe("planFirewall(): this node's pods", () => {
  test("planFirewall() maps only this node's running pod-network pods of filtered namespaces, canonical addresses", () => {
    const p = plan(
      [
        SEED,
        policy('default', 'p', [deny('0.0.0.0/0')]),
        pod('myproject', 'web', ['10.128.0.5', 'FD01::5'], {}),
        pod('myproject', 'pending', ['10.128.0.6'], { phase: 'Pending' }),
        pod('myproject', 'unknown', ['10.128.0.7'], { phase: 'Unknown' }),
        pod('myproject', 'done', ['10.128.0.8'], { phase: 'Succeeded' }),
        pod('myproject', 'crashed', ['10.128.0.9'], { phase: 'Failed' }),
        pod('myproject', 'elsewhere', ['10.128.2.5'], { node: 'node-2' }),
        pod('myproject', 'unscheduled', [], { node: null }),
        pod('myproject', 'host', ['192.168.0.10'], { hostNetwork: true }),
        pod('myproject', 'outside', ['192.168.7.7']),
        pod('myproject', 'no-ip-yet', [], { phase: 'Pending' }),
        pod('unfiltered', 'app', ['10.128.0.30']),
        pod('default', 'router', ['10.128.0.31']),
      ],
      { clusterNetworks: CLUSTER_DUAL },
    );
    assert.deepEqual(
      p.pods,
      new Map([
        ['10.128.0.5', 'myproject'],
        ['fd01::5', 'myproject'],
        ['10.128.0.6', 'myproject'],
        ['10.128.0.7', 'myproject'],
      ]),
    );
    assert.equal(status(p, 'myproject').pods, 3);
    assert.equal(status(p, 'default').pods, 0);
  });

  test("planFirewall() leaves out a pod's addresses outside the cluster networks, and counts a pod once", () => {
    const p = plan([SEED, pod('myproject', 'dual', ['10.128.0.5', 'fd01::5', '10.128.0.55'])]);
    assert.deepEqual(
      p.pods,
      new Map([
        ['10.128.0.5', 'myproject'],
        ['10.128.0.55', 'myproject'],
      ]),
      'the IPv6 address is outside the IPv4-only cluster network',
    );
    assert.equal(status(p, 'myproject').pods, 1);
  });

  test('planFirewall() maps the pods of a namespace failed closed (their traffic is dropped)', () => {
    const p = plan([
      policy('myproject', 'a', [deny('0.0.0.0/0')]),
      policy('myproject', 'b', [deny('0.0.0.0/0')]),
      pod('myproject', 'web', ['10.128.0.5']),
    ]);
    assert.equal(p.namespaces.get('myproject')?.mode, 'closed');
    assert.deepEqual(p.pods, new Map([['10.128.0.5', 'myproject']]));
  });

  test('planFirewall() reads pods from a List as an API answer gives them', () => {
    const p = plan([
      SEED,
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [pod('myproject', 'a', ['10.128.0.5']), pod('myproject', 'b', ['10.128.0.6'])],
      },
    ]);
    assert.equal(status(p, 'myproject').pods, 2);
  });
});
