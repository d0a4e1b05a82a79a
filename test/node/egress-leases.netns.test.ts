/**
 * Automatic egress IPs with the Kubernetes source: the node Leases decide (docs/egress-ips.md,
 * "Leases"). A 3-node cluster lab; the protocol fake of the API server runs in the gateway's
 * namespace (`_fake-apiserver-process.ts`), and `egress-router node --source kubernetes` on every
 * node reads it and writes its Lease there.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNodeLease } from '../../src/egress-ip/node-leases.js';
import { type ClusterLab, createClusterLab } from '../../src/lab/cluster-lab.js';
import { hostSubnetManifests, netNamespaceManifest } from '../../src/lab/egress-manifests.js';
import { eventually, type LabAgents, labAgents } from '../../src/lab/node-agents.js';
import type { ProcessHandle } from '../../src/lab/process.js';
import { kubeconfigFor } from '../cluster/_fake-apiserver.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;
const FAKE = fileURLToPath(new URL('../cluster/_fake-apiserver-process.js', import.meta.url));
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/egress-router/leases';

describe('egress IPs, automatic mode, with the Kubernetes source: the node Leases decide', { skip }, () => {
  let lab: ClusterLab;
  let agents: LabAgents;
  let api: ProcessHandle;
  let dir: string;
  let socket: string;
  let e4: string;
  let apiPort: number;

  before(async () => {
    lab = await createClusterLab({
      prefix: `eil${process.pid % 100000}`,
      pods: [
        { name: 'bl1', namespace: 'blue', node: 1 },
        { name: 'bl3', namespace: 'blue', node: 3 },
      ],
    });
    e4 = lab.addresses.egressCandidates4[10] as string;
    await lab.startEcho({ tcp: [80] });
    dir = mkdtempSync(join(tmpdir(), 'egress-leases-'));
    socket = join(dir, 'api.sock');
    const objects = join(dir, 'objects.yaml');
    writeFileSync(
      objects,
      [
        lab.podManifests(),
        hostSubnetManifests(lab, { egressCIDRs: (node) => (node === 1 ? [] : ['192.168.50.96/28']) }),
        netNamespaceManifest('blue', 10, [e4]),
      ].join('\n---\n'),
    );
    api = await lab.spawnIn('gw', process.execPath, [FAKE, lab.addresses.gateway4, objects, socket]);
    const url = (await api.waitFor(/listening (\S+)/, { timeoutMs: 10_000 })).match(/listening (\S+)/)?.[1];
    assert.ok(url);
    apiPort = Number(new URL(url).port);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(url));
    agents = labAgents(lab);
    const args = ['--source', 'kubernetes', '--kubeconfig', kubeconfig, '--lease-namespace', 'egress-router'];
    for (const node of [1, 2, 3]) await startAgent(node, args);
  });
  after(async () => {
    await agents?.close();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const startAgent = (node: number, args: readonly string[]) => agents.start(node, args);
  const source = async (pod: string) => {
    const result = await lab.tcpRequest(lab.pod(pod).netns, lab.addresses.outside4[0] as string, 80, 1_000);
    return result.ok ? result.reply.peer : false;
  };
  const holds = async (node: number) =>
    (await lab.exec(node, 'ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(`${e4}/`);
  const leases = async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: socket, path: LEASES }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    const items = (JSON.parse(text) as { items: unknown[] }).items;
    return new Map(
      items.flatMap((item) => {
        const record = readNodeLease(item);
        return record ? [[record.node, record.holdings] as const] : [];
      }),
    );
  };
  /** Polls both candidates until `done`, failing if both ever host the IP at once. */
  const watchHolders = async (done: () => Promise<boolean>, timeoutMs: number) => {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const [two, three] = await Promise.all([holds(2), holds(3)]);
      assert.ok(!(two && three), `nodes 2 and 3 both host ${e4} after ${Date.now() - started} ms`);
      if (await done()) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`not done within ${timeoutMs} ms`);
  };

  test('the IP goes to one node; its Lease says so; every pod leaves with it', async () => {
    assert.ok(await until(async () => (await source('bl1')) === e4));
    assert.equal(await source('bl3'), e4);
    const host = (await holds(2)) ? 2 : 3;
    assert.equal(await holds(host === 2 ? 3 : 2), false);
    const held = await leases();
    assert.deepEqual(Object.keys(held.get(`node${host}`)?.ips ?? {}), [e4]);
    assert.deepEqual(held.get(`node${host === 2 ? 3 : 2}`)?.ips, {});
    assert.ok(held.get('node2')?.candidate && held.get('node3')?.candidate);
    assert.equal(held.has('node1'), false, 'node1 offers no egressCIDRs: it only watches');
  });

  test('its node cut from the API only: it lets the IP go before the other takes it; never two hosts', async () => {
    const host = (await holds(2)) ? 2 : 3;
    const other = host === 2 ? 3 : 2;
    // Its packets to the API server dropped; everything else (the pods, the other nodes) still flows.
    await lab.exec(host, 'nft', ['-f', '-'], {
      input: `table inet labcut { chain out { type filter hook output priority 0; ip daddr ${lab.addresses.gateway4} tcp dport ${apiPort} drop; }; }\n`,
    });
    try {
      const took = await watchHolders(
        async () => (await holds(other)) && (await source('bl1')) === e4,
        10_000,
      );
      assert.equal(await holds(host), false);
      assert.equal(await source('bl3'), e4);
      // The new host writes it at its next renewal.
      assert.ok(
        await until(async () => Object.keys((await leases()).get(`node${other}`)?.ips ?? {}).join() === e4),
        `moved in ${took} ms; the Lease of node${other} says so`,
      );
      assert.equal((await leases()).get(`node${host}`)?.candidate, true, 'its last write, before the cut');
    } finally {
      await lab.exec(host, 'nft', ['delete', 'table', 'inet', 'labcut']);
    }
    // Back in touch: it is a candidate again, and takes nothing away (no flapping).
    assert.ok(
      await until(
        async () => (await leases()).get(`node${host}`)?.candidate === true && !(await holds(host)),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(await holds(host), false);
    assert.equal(await holds(other), true);
  });

  test('its node dies (agent stopped, link cut): the IP moves once the Lease is stale; back: no flapping', async () => {
    const host = (await holds(2)) ? 2 : 3;
    const other = host === 2 ? 3 : 2;
    await agents.stop(host);
    await lab.cutNode(host);
    // The dead node keeps the address on its cut link: only the live one is watched.
    const cutAt = Date.now();
    assert.ok(await until(async () => (await holds(other)) && (await source('bl1')) === e4));
    const took = Date.now() - cutAt;
    await lab.restoreNode(host);
    const args = [
      '--source',
      'kubernetes',
      '--kubeconfig',
      join(dir, 'kubeconfig'),
      '--lease-namespace',
      'egress-router',
    ];
    await startAgent(host, args);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(await holds(host), false, `node ${host} hosts nothing (the move took ${took} ms)`);
    assert.equal(await holds(other), true);
    assert.equal(await source('bl1'), e4);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  return (await eventually(async () => ((await check()) ? true : undefined), timeoutMs)) === true;
}
