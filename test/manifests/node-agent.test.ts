import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type ExampleDoc, type K8sObject, loadExamples, REPO, type Yaml } from './_examples.js';
import {
  agentContainer,
  agentResources,
  cidrListProblem,
  DEFAULT_ADMIN_PORT,
  DEFAULT_STATUS_FILE,
  NODE_AGENT_OPTIONS,
  probePort,
  readNodeArgs,
} from './_node-agent.js';
import { allows, grantsOf, ruleAllows } from './_rbac.js';

const docs = loadExamples();
const crds = docs.filter((d) => d.object.kind === 'CustomResourceDefinition');
const resources = agentResources(crds);

/** The two flavours: each file has the agent's namespace, RBAC and DaemonSet. */
const FLAVOURS = [
  { file: 'node-agent-kubernetes.yaml', namespace: 'egress-router' },
  { file: 'node-agent-openshift.yaml', namespace: 'openshift-egress-router' },
] as const;

/** The capabilities the agent needs: nftables, addresses and routes; ARP announcements. */
const AGENT_CAPABILITIES = ['NET_ADMIN', 'NET_RAW'];
/** The verbs of a list-then-watch reader (an informer). */
const READ_VERBS = ['get', 'list', 'watch'];
/** What holding and renewing a Lease takes (the next feature: egress IP failover). */
const LEASE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch'];

/** `egress-router node --help`, or why it cannot be read yet. */
function nodeHelp(): { text: string } | { skip: string } {
  const run = spawnSync(process.execPath, [join(REPO, 'bin/egress-router'), 'node', '--help'], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return run.status === 0 && run.stdout.includes('--source')
    ? { text: run.stdout }
    : { skip: `'egress-router node --help' exits ${run.status}: the command is not written yet` };
}

function flavour(file: string) {
  const objects = docs.filter((d: ExampleDoc) => d.file === file).map((d) => d.object);
  const daemonSets = objects.filter((o) => o.kind === 'DaemonSet');
  assert.equal(daemonSets.length, 1, `${file}: one DaemonSet`);
  const daemonSet = daemonSets[0]!;
  const pod = daemonSet.spec.template.spec;
  return { objects, daemonSet, pod, container: agentContainer(daemonSet) };
}

function only(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

for (const { file, namespace } of FLAVOURS) {
  describe(`${file}: the node agent's DaemonSet`, () => {
    const { objects, daemonSet, pod, container } = flavour(file);

    test('its namespace, service account, RBAC and DaemonSet in one file, nothing else', () => {
      assert.deepEqual(
        only(objects, 'Namespace').map((o) => o.metadata?.name),
        [namespace],
      );
      for (const o of objects.filter((o) => o.kind !== 'Namespace' && !o.kind.startsWith('Cluster'))) {
        if (o.kind === 'SecurityContextConstraints') continue; // cluster-scoped
        assert.equal(o.metadata?.namespace, namespace, `${o.kind}/${o.metadata?.name}`);
      }
      assert.equal(pod.serviceAccountName, 'egress-router-node');
      assert.deepEqual(
        only(objects, 'ServiceAccount').map((o) => o.metadata?.name),
        [pod.serviceAccountName],
      );
      assert.equal(only(objects, 'CustomResourceDefinition').length, 0, 'the CRDs are a file of their own');
      const labels = daemonSet.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(daemonSet.spec.selector.matchLabels)) assert.equal(labels[k], v, k);
    });

    test('the pod: host network, root with only NET_ADMIN and NET_RAW, no escalation, read-only root', () => {
      assert.equal(pod.hostNetwork, true);
      assert.equal(pod.hostPID ?? false, false);
      assert.equal(pod.hostIPC ?? false, false);
      const sc = container.securityContext;
      assert.equal(sc.runAsUser, 0, 'root: Kubernetes gives a non-root user no capabilities');
      assert.notEqual(sc.runAsNonRoot, true);
      assert.notEqual(sc.privileged, true);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.deepEqual(sc.capabilities.drop, ['ALL']);
      assert.deepEqual([...sc.capabilities.add].sort(), AGENT_CAPABILITIES);
      assert.equal(pod.securityContext?.runAsUser ?? 0, 0);
    });

    test('writable /run/egress-router for the status file (an emptyDir: it outlives container restarts)', () => {
      const args = readNodeArgs(container.args);
      assert.ok(args.ok, args.ok ? '' : args.error);
      const statusFile = args.options.get('--status-file') ?? DEFAULT_STATUS_FILE;
      const mount = (container.volumeMounts ?? []).find((m: Yaml) =>
        statusFile.startsWith(`${m.mountPath}/`),
      );
      assert.ok(mount, `${statusFile} is on no volume`);
      assert.notEqual(mount.readOnly, true);
      const volume = pod.volumes.find((v: Yaml) => v.name === mount.name);
      assert.ok(volume?.emptyDir, `${mount.name}: an emptyDir`);
    });

    test('on every node: every taint tolerated, system-node-critical, one node at a time, ~30 s to stop', () => {
      assert.ok(
        (pod.tolerations ?? []).some(
          (t: Yaml) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined,
        ),
        'a toleration of every taint',
      );
      assert.equal(pod.nodeName, undefined);
      for (const [key, value] of Object.entries(pod.nodeSelector ?? {})) {
        assert.deepEqual([key, value], ['kubernetes.io/os', 'linux'], 'no selector beyond the OS');
      }
      assert.equal(pod.affinity, undefined);
      assert.equal(pod.priorityClassName, 'system-node-critical');
      assert.deepEqual(daemonSet.spec.updateStrategy, {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 1 },
      });
      assert.ok(pod.terminationGracePeriodSeconds >= 10 && pod.terminationGracePeriodSeconds <= 60);
    });

    test("its node's name from the downward API (NODE_NAME: spec.nodeName)", () => {
      const env = (container.env ?? []).find((e: Yaml) => e.name === 'NODE_NAME');
      assert.deepEqual(env?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
    });

    test('args: `node`, documented options only, --source kubernetes, canonical cluster and service CIDRs', () => {
      const args = readNodeArgs(container.args);
      assert.ok(args.ok, args.ok ? '' : args.error);
      assert.equal(args.options.get('--source'), 'kubernetes');
      for (const option of ['--cluster-network', '--service-network']) {
        const value = args.options.get(option);
        assert.ok(value, `${option}: the cluster's own, never the default by accident`);
        assert.equal(cidrListProblem(value), undefined, option);
      }
      assert.equal(args.options.has('--kubeconfig'), false, 'in-cluster: the service account');
      assert.equal(container.command, undefined, "the image's entrypoint (egress-router)");
    });

    const help = nodeHelp();
    test("args: every option is one that 'egress-router node --help' lists", {
      skip: 'skip' in help && help.skip,
    }, () => {
      const args = readNodeArgs(container.args);
      assert.ok(args.ok && 'text' in help);
      for (const option of args.options.keys()) assert.ok(help.text.includes(option), option);
    });

    const parser = join(REPO, 'dist/src/node/options.js');
    test("args: the agent's own parser takes them, with NODE_NAME and KUBERNETES_SERVICE_HOST as the kubelet sets them", {
      skip: existsSync(parser) ? false : 'src/node/options.ts is not built yet',
    }, async () => {
      const { parseNodeOptions } = (await import(parser)) as {
        parseNodeOptions: (input: Record<string, unknown>, env: NodeJS.ProcessEnv) => Yaml;
      };
      const args = readNodeArgs(container.args);
      assert.ok(args.ok);
      const input = Object.fromEntries(
        [...args.options].map(([flag, value]) => [
          flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
          NODE_AGENT_OPTIONS[flag] ? value : true,
        ]),
      );
      const parsed = parseNodeOptions(input, { NODE_NAME: 'node1', KUBERNETES_SERVICE_HOST: '172.30.0.1' });
      assert.ok(parsed.ok, parsed.error);
      assert.equal(parsed.options.source.kind, 'kubernetes');
      assert.equal(parsed.options.nodeName, 'node1');
      assert.equal(parsed.options.adminPort, probePort(container, container.livenessProbe.httpGet.port));
      const mounts = (container.volumeMounts ?? []).map((m: Yaml) => `${m.mountPath}/`);
      assert.ok(
        mounts.some((m: string) => parsed.options.statusFile.startsWith(m)),
        parsed.options.statusFile,
      );
    });

    test('probes on the admin port: /healthz (liveness), /readyz (readiness)', () => {
      const args = readNodeArgs(container.args);
      assert.ok(args.ok);
      const adminPort = Number(args.options.get('--admin-port') ?? DEFAULT_ADMIN_PORT);
      assert.equal(container.livenessProbe.httpGet.path, '/healthz');
      assert.equal(container.readinessProbe.httpGet.path, '/readyz');
      assert.equal(probePort(container, container.livenessProbe.httpGet.port), adminPort);
      assert.equal(probePort(container, container.readinessProbe.httpGet.port), adminPort);
      assert.ok(
        container.resources?.requests?.cpu && container.resources.requests.memory,
        'resource requests',
      );
    });

    test('RBAC: get, list and watch cluster-wide on every kind the agent reads', () => {
      const grants = grantsOf(objects, { namespace, name: pod.serviceAccountName });
      for (const [kind, { group, resource }] of resources) {
        for (const verb of READ_VERBS) {
          assert.ok(allows(grants, { verb, group, resource }), `${verb} ${resource}.${group} (${kind})`);
        }
      }
    });

    test('RBAC: nothing else cluster-wide, no wildcards; leases only in its own namespace', () => {
      const grants = grantsOf(objects, { namespace, name: pod.serviceAccountName });
      for (const g of grants) {
        for (const list of [g.rule.apiGroups, g.rule.resources, g.rule.verbs]) {
          assert.ok(!list.includes('*'), `${g.via}: a wildcard`);
        }
        if (g.namespace === undefined) assert.deepEqual(g.rule.verbs, READ_VERBS, `${g.via}: read only`);
        else assert.equal(g.namespace, namespace);
      }
      for (const verb of LEASE_VERBS) {
        const lease = { verb, group: 'coordination.k8s.io', resource: 'leases' };
        assert.ok(allows(grants, { ...lease, namespace }), `${verb} leases in ${namespace}`);
        assert.ok(!allows(grants, { ...lease, namespace: 'kube-system' }), `${verb} leases in kube-system`);
        assert.ok(
          !allows(grants, { ...lease, namespace: 'kube-node-lease' }),
          `${verb} leases in kube-node-lease`,
        );
      }
      assert.ok(!allows(grants, { verb: 'update', group: 'network.openshift.io', resource: 'hostsubnets' }));
      assert.ok(!allows(grants, { verb: 'list', group: '', resource: 'secrets', namespace }));
    });
  });
}

describe('node-agent-kubernetes.yaml', () => {
  const { objects } = flavour('node-agent-kubernetes.yaml');

  test('the namespace admits privileged pods (Pod Security: host network and NET_ADMIN are beyond baseline)', () => {
    const labels = only(objects, 'Namespace')[0]!.metadata?.labels ?? {};
    assert.equal(labels['pod-security.kubernetes.io/enforce'], 'privileged');
  });
});

describe('node-agent-openshift.yaml', () => {
  const { objects, pod, container } = flavour('node-agent-openshift.yaml');
  const namespace = only(objects, 'Namespace')[0]!;
  const sccs = only(objects, 'SecurityContextConstraints');
  const grants = grantsOf(objects, { namespace: 'openshift-egress-router', name: pod.serviceAccountName });

  test('nothing OpenShift 3.11 (Kubernetes 1.11) lacks: no startupProbe', () => {
    assert.equal(container.startupProbe, undefined);
    assert.ok(container.livenessProbe.initialDelaySeconds >= 30, 'time for the first list instead');
  });

  test('an openshift-* namespace (3.11 admits system-node-critical only there) with no project node selector', () => {
    assert.match(namespace.metadata?.name ?? '', /^openshift-/);
    assert.equal(namespace.metadata?.annotations?.['openshift.io/node-selector'], '');
  });

  test('the SCC is granted to the agent alone: RBAC `use` in its namespace, no users or groups', () => {
    assert.equal(sccs.length, 1);
    const scc = sccs[0]!;
    assert.deepEqual([scc.users, scc.groups], [[], []]);
    const use = { verb: 'use', group: 'security.openshift.io', resource: 'securitycontextconstraints' };
    assert.ok(allows(grants, { ...use, namespace: 'openshift-egress-router', name: scc.metadata?.name }));
    assert.ok(!allows(grants, { ...use, namespace: 'openshift-egress-router', name: 'privileged' }));
    assert.ok(!allows(grants, { ...use, namespace: 'default', name: scc.metadata?.name }));
  });

  test('the SCC admits the pod as written (what the SCC admission checks)', () => {
    const scc = sccs[0]!;
    const sc = container.securityContext;
    assert.equal(scc.allowHostNetwork, pod.hostNetwork === true);
    if ((container.ports ?? []).length > 0)
      assert.equal(scc.allowHostPorts, true, 'host network: ports are host ports');
    for (const cap of sc.capabilities.add) assert.ok(scc.allowedCapabilities.includes(cap), cap);
    assert.equal(scc.runAsUser.type, 'MustRunAs');
    assert.equal(scc.runAsUser.uid, sc.runAsUser);
    for (const volume of pod.volumes) {
      const type = Object.keys(volume).find((k) => k !== 'name')!;
      assert.ok(scc.volumes.includes(type), `volume type ${type}`);
    }
    assert.ok(scc.volumes.includes('secret'), "the service account's token (a secret volume on 3.11)");
    assert.equal(
      sc.seLinuxOptions,
      undefined,
      'the SCC assigns the SELinux type: a partial one would not match',
    );
    assert.equal(scc.readOnlyRootFilesystem, true);
    assert.equal(sc.readOnlyRootFilesystem, true);
  });

  test('the SCC is narrower than `privileged`: no privileged container, no host paths, PID or IPC, no escalation', () => {
    const scc = sccs[0]!;
    assert.equal(scc.allowPrivilegedContainer, false);
    assert.equal(scc.allowHostDirVolumePlugin, false);
    assert.equal(scc.allowHostPID, false);
    assert.equal(scc.allowHostIPC, false);
    assert.equal(scc.allowPrivilegeEscalation, false);
    assert.deepEqual([...scc.allowedCapabilities].sort(), AGENT_CAPABILITIES);
    assert.deepEqual(scc.defaultAddCapabilities, []);
    assert.ok(!scc.volumes.includes('*') && !scc.volumes.includes('hostPath'));
    assert.deepEqual(scc.seLinuxContext, { type: 'MustRunAs', seLinuxOptions: { type: 'spc_t' } });
  });
});

describe('the test helpers', () => {
  test('readNodeArgs() takes documented options with values, refuses others', () => {
    const ok = readNodeArgs(['node', '--source', 'dir:/x', '--admin-port=9100']);
    assert.ok(ok.ok);
    assert.deepEqual(
      [...ok.options],
      [
        ['--source', 'dir:/x'],
        ['--admin-port', '9100'],
      ],
    );
    assert.deepEqual(readNodeArgs(['--source', 'kubernetes']), {
      ok: false,
      error: 'the first argument is --source, not node',
    });
    assert.deepEqual(readNodeArgs(['node', '--cluster-cidr', '10.0.0.0/8']), {
      ok: false,
      error: '--cluster-cidr: not an option of egress-router node',
    });
    assert.deepEqual(readNodeArgs(['node', '--source']), { ok: false, error: '--source without a value' });
    assert.deepEqual(readNodeArgs(['node', '--source', 'a', '--source', 'b']), {
      ok: false,
      error: '--source given twice',
    });
    assert.deepEqual(readNodeArgs(['node', '--debug=1']), { ok: false, error: '--debug takes no value' });
    assert.ok(readNodeArgs(['node', '--debug']).ok);
    assert.equal(Object.keys(NODE_AGENT_OPTIONS).length, 9);
  });

  test('cidrListProblem() accepts canonical IPv4 and IPv6 lists, refuses host bits and non-CIDRs', () => {
    assert.equal(cidrListProblem('10.128.0.0/14,fd00:10:128::/48'), undefined);
    assert.equal(cidrListProblem('0.0.0.0/0'), undefined);
    assert.equal(cidrListProblem('::/0'), undefined);
    assert.equal(cidrListProblem('10.128.0.1/14'), '10.128.0.1/14: host bits set (not canonical)');
    assert.equal(cidrListProblem('fd00::1/64'), 'fd00::1/64: host bits set (not canonical)');
    assert.equal(cidrListProblem('10.128.0.0/33'), '10.128.0.0/33: not a CIDR');
    assert.equal(cidrListProblem('10.128.0.0'), '10.128.0.0: not a CIDR');
    assert.equal(cidrListProblem('10.128.0.0/14,'), ': not a CIDR');
  });

  test('ruleAllows() honours wildcards and resourceNames', () => {
    const rule = { apiGroups: [''], resources: ['pods'], verbs: ['*'], resourceNames: ['a'] };
    assert.ok(ruleAllows(rule, { verb: 'delete', group: '', resource: 'pods', name: 'a' }));
    assert.ok(!ruleAllows(rule, { verb: 'delete', group: '', resource: 'pods', name: 'b' }));
    assert.ok(!ruleAllows(rule, { verb: 'list', group: '', resource: 'pods' }));
    assert.ok(!ruleAllows(rule, { verb: 'get', group: 'apps', resource: 'pods', name: 'a' }));
  });
});
