import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { readClusterObject } from '../cluster/objects.js';
import { podManifestsYaml } from './cluster-manifests.js';

const pods = [
  {
    name: 'a1',
    namespace: 'alpha',
    nodeName: 'node1',
    hostIP: '192.168.50.11',
    ip4: '10.128.0.10',
    ip6: 'fd01:0:0:1::10',
  },
  {
    name: 'b1',
    namespace: 'beta',
    nodeName: 'node2',
    hostIP: '192.168.50.12',
    ip4: '10.128.2.10',
    ip6: 'fd01:0:0:2::10',
  },
  {
    name: 'a2',
    namespace: 'alpha',
    nodeName: 'node2',
    hostIP: '192.168.50.12',
    ip4: '10.128.2.11',
    ip6: 'fd01:0:0:2::11',
  },
];

describe('podManifestsYaml()', () => {
  it('writes a Namespace per namespace, then the pods, as the agent reads them', () => {
    const documents = parseAllDocuments(podManifestsYaml(pods)).map((document) => document.toJS());
    const read = documents.map((raw) => {
      const result = readClusterObject(raw);
      assert.ok(result.ok && result.object !== undefined, JSON.stringify(raw));
      return result.object;
    });
    assert.deepEqual(
      read.map((object) => `${object.kind} ${object.key}`),
      ['Namespace alpha', 'Namespace beta', 'Pod alpha/a1', 'Pod beta/b1', 'Pod alpha/a2'],
    );
    assert.deepEqual(read[4]?.object, {
      namespace: 'alpha',
      name: 'a2',
      nodeName: 'node2',
      hostNetwork: false,
      phase: 'Running',
      ips: ['10.128.2.11', 'fd01:0:0:2::11'],
    });
  });

  it('gives a running dual-stack pod status as the API server shows it', () => {
    const [, pod] = parseAllDocuments(podManifestsYaml(pods.slice(0, 1))).map((document) => document.toJS());
    assert.deepEqual(pod.status, {
      phase: 'Running',
      hostIP: '192.168.50.11',
      podIP: '10.128.0.10',
      podIPs: [{ ip: '10.128.0.10' }, { ip: 'fd01:0:0:1::10' }],
    });
    assert.equal(pod.apiVersion, 'v1');
    assert.equal(pod.spec.nodeName, 'node1');
  });

  it('is empty without pods', () => {
    assert.equal(podManifestsYaml([]), '');
  });
});
