import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  HOLDINGS_ANNOTATION,
  holdingsOf,
  leaseView,
  microTime,
  NODE_LEASE_LABEL,
  nodeLeaseName,
  nodeLeaseObject,
  type ObservedLease,
  readNodeLease,
} from './node-leases.js';

const T = Date.parse('2026-12-03T14:00:00.123Z');

describe('node leases', () => {
  test('nodeLeaseObject() writes a Lease that readNodeLease() reads back', () => {
    const holdings = { candidate: true, ips: { '192.168.50.100': T - 5000 } };
    const object = nodeLeaseObject('egress-router', 'node2', holdings, T, '17');
    assert.deepEqual(object, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'egress-router-node.node2',
        namespace: 'egress-router',
        labels: { [NODE_LEASE_LABEL]: 'true' },
        annotations: { [HOLDINGS_ANNOTATION]: JSON.stringify(holdings) },
        resourceVersion: '17',
      },
      spec: { holderIdentity: 'node2', leaseDurationSeconds: 2, renewTime: '2026-12-03T14:00:00.123000Z' },
    });
    assert.deepEqual(readNodeLease(object), { node: 'node2', resourceVersion: '17', renewedAt: T, holdings });
    // A create carries no resourceVersion.
    assert.equal('resourceVersion' in (nodeLeaseObject('ns', 'n', holdings, T).metadata as object), false);
  });

  test('readNodeLease() ignores Leases that are not ours', () => {
    const ours = nodeLeaseObject('ns', 'node1', { candidate: true, ips: {} }, T, '1') as {
      metadata: Record<string, unknown>;
      spec: Record<string, unknown>;
    };
    assert.equal(readNodeLease({ ...ours, spec: { ...ours.spec, holderIdentity: 'node9' } }), undefined);
    assert.equal(readNodeLease({ ...ours, metadata: { ...ours.metadata, annotations: {} } }), undefined);
    assert.equal(
      readNodeLease({ ...ours, metadata: { ...ours.metadata, annotations: { [HOLDINGS_ANNOTATION]: '{' } } }),
      undefined,
    );
    assert.equal(readNodeLease({ metadata: { name: 'kube-scheduler' }, spec: {} }), undefined);
    assert.equal(readNodeLease(null), undefined);
  });

  test('leaseView(): alive while the Lease changed within staleMs and it is a candidate; self left out', () => {
    const lease = (node: string, candidate: boolean, ips: Record<string, number>, observedAt: number) =>
      [
        node,
        {
          record: { node, resourceVersion: '1', renewedAt: observedAt, holdings: { candidate, ips } },
          observedAt,
        },
      ] as [string, ObservedLease];
    const leases = new Map([
      lease('node1', true, { '10.0.0.9': 1 }, 1000),
      lease('node2', true, { '10.0.0.5': 7, '10.0.0.6': 8 }, 9000),
      lease('node3', false, { '10.0.0.7': 2 }, 9900),
      lease('node4', true, { '10.0.0.5': 9 }, 8400),
    ]);
    const view = leaseView(leases, 'node1', 10_000, 1600);
    assert.deepEqual([...view.alive].sort(), ['node2', 'node4']);
    assert.deepEqual(
      new Map([...view.current].sort()),
      new Map([
        [
          '10.0.0.5',
          [
            { node: 'node2', since: 7 },
            { node: 'node4', since: 9 },
          ],
        ],
        ['10.0.0.6', [{ node: 'node2', since: 8 }]],
      ]),
    );
  });

  test('leaseView() never reports a node down that changed within staleMs, nor one up that did not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ age: fc.nat(5000), candidate: fc.boolean() }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 4000 }),
        (nodes, staleMs) => {
          const leases = new Map(
            nodes.map((n, i) => [
              `n${i}`,
              {
                record: {
                  node: `n${i}`,
                  resourceVersion: '1',
                  renewedAt: 0,
                  holdings: { candidate: n.candidate, ips: {} },
                },
                observedAt: 10_000 - n.age,
              },
            ]),
          );
          const { alive } = leaseView(leases, 'self', 10_000, staleMs);
          for (const [i, n] of nodes.entries())
            assert.equal(alive.has(`n${i}`), n.candidate && n.age <= staleMs);
        },
      ),
    );
  });

  test('holdingsOf() writes what GET /egress says, and nothing while fenced', () => {
    const held = { node: 'n', automatic: ['10.0.0.5', '10.0.0.6'], since: { '10.0.0.5': 3 } };
    assert.deepEqual(holdingsOf(held, true), { candidate: true, ips: { '10.0.0.5': 3, '10.0.0.6': 0 } });
    assert.deepEqual(holdingsOf(held, false), { candidate: false, ips: {} });
  });

  test('microTime() writes six digits of fraction, as the API does', () => {
    assert.equal(microTime(Date.parse('2026-01-02T03:04:05Z')), '2026-01-02T03:04:05.000000Z');
    assert.equal(nodeLeaseName('ip-10-0-0-1.ec2.internal'), 'egress-router-node.ip-10-0-0-1.ec2.internal');
  });
});
