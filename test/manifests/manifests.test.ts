import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { ReplicationController } from 'kubernetes-models/v1/ReplicationController';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { crdToJsonSchema } from './_crd-schema.js';
import {
  ACCEPTED_ENV,
  configMapsOf,
  type ExampleDoc,
  loadExamples,
  ourContainers,
  podsOf,
  REPO,
  resolveEnv,
} from './_examples.js';
import { type CheckedKind, unknownFields } from './_strict-fields.js';

const BIN = join(REPO, 'bin/egress-router');
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

const docs = loadExamples();
const pods = podsOf(docs);
const ours = ourContainers(pods);
const configMaps = configMapsOf(docs);
const filesDir = mkdtempSync(join(tmpdir(), 'egress-manifests-'));
after(() => rmSync(filesDir, { recursive: true, force: true }));

/** Kubernetes' own schemas (kubernetes-models: generated from the API's OpenAPI definitions). */
const MODELS: Record<string, { kind: CheckedKind; validate: (object: unknown) => void }> = {
  'v1/Pod': { kind: 'Pod', validate: (o) => new Pod(o as never).validate() },
  'v1/Service': { kind: 'Service', validate: (o) => new Service(o as never).validate() },
  'v1/ConfigMap': { kind: 'ConfigMap', validate: (o) => new ConfigMap(o as never).validate() },
  'v1/ReplicationController': {
    kind: 'ReplicationController',
    validate: (o) => new ReplicationController(o as never).validate(),
  },
  'apps/v1/Deployment': { kind: 'Deployment', validate: (o) => new Deployment(o as never).validate() },
  'v1/Namespace': { kind: 'Namespace', validate: (o) => new Namespace(o as never).validate() },
  'v1/ServiceAccount': { kind: 'ServiceAccount', validate: (o) => new ServiceAccount(o as never).validate() },
  'apps/v1/DaemonSet': { kind: 'DaemonSet', validate: (o) => new DaemonSet(o as never).validate() },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    kind: 'ClusterRole',
    validate: (o) => new ClusterRole(o as never).validate(),
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    kind: 'ClusterRoleBinding',
    validate: (o) => new ClusterRoleBinding(o as never).validate(),
  },
  'rbac.authorization.k8s.io/v1/Role': { kind: 'Role', validate: (o) => new Role(o as never).validate() },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    kind: 'RoleBinding',
    validate: (o) => new RoleBinding(o as never).validate(),
  },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    kind: 'CustomResourceDefinition',
    validate: (o) => new CustomResourceDefinition(o as never).validate(),
  },
};

const ajv = new Ajv({ allErrors: true, strict: true });
const schema = (name: string) => JSON.parse(readFileSync(join(REPO, 'test/manifests/schemas', name), 'utf8'));
const validateNad = ajv.compile(schema('network-attachment-definition.schema.json'));
const validateMacvlan = ajv.compile(schema('cni-macvlan.schema.json'));

/**
 * Kinds that kubernetes-models has no schema for, by `apiVersion/kind`, each with a JSON Schema
 * that refuses unknown fields (metadata is checked against ObjectMeta besides): OpenShift's SCC
 * (written from openshift/api), and the custom resources of our CRDs (node-agent-crds.yaml).
 */
const OTHER_KINDS = new Map<string, ValidateFunction>([
  [
    'security.openshift.io/v1/SecurityContextConstraints',
    ajv.compile(schema('security-context-constraints.schema.json')),
  ],
  ...docs
    .filter((d) => d.object.kind === 'CustomResourceDefinition')
    .flatMap((d) =>
      (d.object.spec.versions as { name: string; schema: { openAPIV3Schema: object } }[]).map(
        (v) =>
          [
            `${d.object.spec.group}/${v.name}/${d.object.spec.names.kind}`,
            ajv.compile(crdToJsonSchema(v.schema.openAPIV3Schema)),
          ] as const,
      ),
    ),
]);

/** Runs the CLI on this machine with exactly this environment. */
function cli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
}

/** The variables with a prefix that a command's --help names (none while the command is not written). */
function helpVariables(command: string, prefix: string): string[] {
  const help = cli([command, '--help'], {});
  return help.status === 0 ? (help.stdout.match(new RegExp(`\\b${prefix}[A-Z0-9_]+`, 'g')) ?? []) : [];
}

/** The `--check` of a proxy command, or why it cannot run yet. */
function proxyCheckSkip(command: 'http-proxy' | 'dns-proxy'): string | false {
  const help = cli([command, '--help'], {});
  return help.status === 0
    ? false
    : `'egress-router ${command} --help' exits ${help.status}: the command is not written yet`;
}

describe('example manifests: valid Kubernetes objects', () => {
  test('the examples are there: every seed example and the plain-Kubernetes ones', () => {
    const kinds = docs.map((d) => `${d.object.kind}/${d.object.metadata?.name}`);
    for (const expected of [
      'Pod/egress-1', // redirect (6.5.2.1)
      'Pod/egress-multi', // several destinations (6.5.2.2)
      'ConfigMap/egress-routes', // the list in a ConfigMap (6.5.2.3)
      'Pod/egress-configmap',
      'Pod/egress-live',
      'Pod/egress-http-proxy', // HTTP proxy (6.5.2.4)
      'Service/egress-http-proxy',
      'Pod/egress-client',
      'Pod/egress-dns-proxy',
      'Deployment/egress-demo', // failover (6.5.2.5)
      'ReplicationController/egress-demo-controller',
      'NetworkAttachmentDefinition/egress-macvlan',
      'CustomResourceDefinition/egressnetworkpolicies.network.openshift.io', // node agent, Kubernetes
      'CustomResourceDefinition/netnamespaces.network.openshift.io',
      'CustomResourceDefinition/hostsubnets.network.openshift.io',
      'DaemonSet/egress-router-node',
      'SecurityContextConstraints/egress-router-node', // node agent, OpenShift
      'EgressNetworkPolicy/default', // the egress firewall (6.5.1)
    ]) {
      assert.ok(kinds.includes(expected), `missing ${expected}`);
    }
  });

  for (const doc of docs) {
    test(`${doc.label}: valid against the API schema, no unknown fields`, () => {
      const { apiVersion, kind } = doc.object;
      if (kind === 'NetworkAttachmentDefinition') {
        assert.ok(validateNad(doc.object), ajv.errorsText(validateNad.errors));
        assert.deepEqual(unknownFields(doc.object.metadata, 'ObjectMeta'), []);
        new ConfigMap({ metadata: doc.object.metadata }).validate();
        const config: { name?: string } = JSON.parse(doc.object.spec.config);
        assert.ok(validateMacvlan(config), `spec.config: ${ajv.errorsText(validateMacvlan.errors)}`);
        assert.equal(config.name, doc.object.metadata?.name, 'the CNI network is named like the attachment');
        return;
      }
      const other = OTHER_KINDS.get(`${apiVersion}/${kind}`);
      if (other !== undefined) {
        assert.ok(other(doc.object), ajv.errorsText(other.errors));
        assert.deepEqual(unknownFields(doc.object.metadata, 'ObjectMeta'), []);
        new ConfigMap({ metadata: doc.object.metadata }).validate();
        assert.match(doc.object.metadata?.name ?? '', DNS1123_LABEL);
        return;
      }
      const model = MODELS[`${apiVersion}/${kind}`];
      assert.ok(model, `${apiVersion} ${kind}: no schema for this kind`);
      assert.doesNotThrow(() => model.validate(doc.object));
      assert.deepEqual(unknownFields(doc.object, model.kind), []);
      // A DNS-1123 label; a CRD's name is `<plural>.<group>`, a subdomain.
      const name = kind === 'CustomResourceDefinition' ? DNS1123_SUBDOMAIN : DNS1123_LABEL;
      assert.match(doc.object.metadata?.name ?? '', name);
    });
  }

  test('the schema checks catch what they should: a misspelt field, a wrong type, a missing name', () => {
    const pod = docs.find((d) => d.object.kind === 'Pod')!.object;
    const typo = structuredClone(pod);
    typo.spec.initContainer = typo.spec.initContainers;
    delete typo.spec.initContainers;
    assert.deepEqual(unknownFields(typo, 'Pod'), ['Pod.spec.initContainer: unknown field']);
    const wrongType = structuredClone(pod);
    wrongType.spec.containers[0].env = [{ name: 'X', value: 1 }];
    assert.throws(() => new Pod(wrongType).validate(), /value must be string/);
    const nameless = structuredClone(pod);
    delete nameless.spec.containers[0].name;
    assert.throws(() => new Pod(nameless).validate(), /must have required property name/);
  });

  test('the checks reach into a DaemonSet, a CRD schema (items too) and an SCC', () => {
    const daemonSet = structuredClone(docs.find((d) => d.object.kind === 'DaemonSet')!.object);
    daemonSet.spec.template.spec.tolerations[0].opertor = 'Exists';
    assert.deepEqual(unknownFields(daemonSet, 'DaemonSet'), [
      'DaemonSet.spec.template.spec.tolerations[0].opertor: unknown field',
    ]);
    const crd = structuredClone(docs.find((d) => d.object.kind === 'CustomResourceDefinition')!.object);
    const egress = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.egress;
    egress.items.requried = egress.items.required;
    delete egress.items.required;
    assert.deepEqual(unknownFields(crd, 'CustomResourceDefinition'), [
      'CustomResourceDefinition.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.egress.items.requried: unknown field',
    ]);
    const validateScc = OTHER_KINDS.get('security.openshift.io/v1/SecurityContextConstraints')!;
    const scc = structuredClone(docs.find((d) => d.object.kind === 'SecurityContextConstraints')!.object);
    scc.allowedCapability = scc.allowedCapabilities;
    delete scc.allowedCapabilities;
    assert.equal(validateScc(scc), false);
    assert.match(ajv.errorsText(validateScc.errors), /must have required property 'allowedCapabilities'/);
    assert.match(ajv.errorsText(validateScc.errors), /must NOT have additional properties/);
  });
});

describe('example manifests: what our images are told', () => {
  test('our images: the placeholder registry, the package version as tag', () => {
    assert.ok(ours.length >= 10);
    for (const c of ours) assert.equal(c.tag, version, `${c.pod.doc.label} ${c.container.image}`);
  });

  test('each container sets only variables its image reads', () => {
    // The CONTRACT's variables, and the tuning variables each proxy's --help documents.
    const accepted = {
      ...ACCEPTED_ENV,
      'http-proxy': [...ACCEPTED_ENV['http-proxy'], ...helpVariables('http-proxy', 'EGRESS_HTTP_PROXY_')],
      'dns-proxy': [...ACCEPTED_ENV['dns-proxy'], ...helpVariables('dns-proxy', 'EGRESS_DNS_PROXY_')],
    };
    for (const c of ours) {
      for (const variable of c.container.env ?? []) {
        assert.ok(
          accepted[c.role].includes(variable.name),
          `${c.pod.doc.label} ${c.container.name}: ${variable.name} is not read by the ${c.role} image`,
        );
      }
    }
  });

  test('every router pod gets macvlan0: the OpenShift annotation, or a Multus attachment named macvlan0', () => {
    const attachments = new Set(
      docs.filter((d) => d.object.kind === 'NetworkAttachmentDefinition').map((d) => d.object.metadata?.name),
    );
    for (const pod of pods.filter((p) => ours.some((c) => c.pod === p && c.role === 'router'))) {
      const openshift = pod.annotations['pod.network.openshift.io/assign-macvlan'];
      const multus = pod.annotations['k8s.v1.cni.cncf.io/networks'];
      if (openshift !== undefined) {
        assert.equal(openshift, 'true', `${pod.doc.label}: the annotation is the string "true"`);
        continue;
      }
      assert.ok(multus, `${pod.doc.label}: no macvlan0`);
      const selections = JSON.parse(multus) as { name: string; interface?: string }[];
      assert.ok(
        selections.some((s) => attachments.has(s.name) && s.interface === 'macvlan0'),
        `${pod.doc.label}: no attachment named macvlan0`,
      );
    }
  });

  test('router containers: init or legacy with a list; the proxy modes with their sidecar; init ones with pod-wait', () => {
    for (const c of ours.filter((c) => c.role === 'router')) {
      const env = resolveEnv(c, configMaps, filesDir);
      const mode = env.EGRESS_ROUTER_MODE ?? 'legacy';
      const roles = ours.filter((o) => o.pod === c.pod && !o.init).map((o) => o.role);
      const where = `${c.pod.doc.label} ${c.container.name}`;
      assert.equal(
        c.init,
        mode !== 'legacy',
        `${where}: legacy runs as a container, the other modes as init containers`,
      );
      if (mode === 'init') assert.ok(roles.includes('pod-wait'), `${where}: init mode needs egress-pod-wait`);
      if (mode === 'http-proxy') assert.ok(roles.includes('http-proxy'), where);
      if (mode === 'dns-proxy') assert.ok(roles.includes('dns-proxy'), where);
      assert.ok(c.container.securityContext?.privileged, `${where}: set-up needs a privileged container`);
    }
  });

  test("router environments are valid: 'unit-test' mode prints one rule per list entry and the SNAT line", () => {
    let checked = 0;
    for (const c of ours.filter((c) => c.role === 'router')) {
      const env = resolveEnv(c, configMaps, filesDir);
      const mode = env.EGRESS_ROUTER_MODE ?? 'legacy';
      const where = `${c.pod.doc.label} ${c.container.name}`;
      if (mode === 'http-proxy' || mode === 'dns-proxy') {
        // No list in these modes: `plan` checks source, gateway and mode and touches nothing.
        const plan = cli(['plan'], env);
        assert.equal(plan.status, 0, `${where}: ${plan.stderr}`);
        assert.match(plan.stdout, new RegExp(`mode ${mode}`));
        checked++;
        continue;
      }
      const run = cli([], { ...env, EGRESS_ROUTER_MODE: 'unit-test' });
      assert.equal(run.status, 0, `${where}: ${run.stderr}`);
      const list = env.EGRESS_DESTINATION ?? readFileSync(env.EGRESS_DESTINATION_FILE!, 'utf8');
      const entries = list.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
      const lines = run.stdout.trimEnd().split('\n');
      assert.equal(lines.filter((line) => line.startsWith('-A PREROUTING')).length, entries.length, where);
      assert.equal(
        lines.at(-1),
        `-A POSTROUTING -j SNAT --to-source ${env.EGRESS_SOURCE!.split('/')[0]}`,
        where,
      );
      checked++;
    }
    assert.ok(checked >= 8, `${checked} router containers checked`);
  });

  for (const role of ['http-proxy', 'dns-proxy'] as const) {
    const skip = proxyCheckSkip(role);
    test(`${role} environments are valid ('egress-router ${role} --check')`, { skip }, () => {
      const containers = ours.filter((c) => c.role === role);
      assert.ok(containers.length > 0);
      for (const c of containers) {
        const check = cli([role, '--check'], resolveEnv(c, configMaps, filesDir));
        assert.equal(check.status, 0, `${c.pod.doc.label}: ${check.stderr}`);
      }
    });
  }

  test('Services select a pod of the examples and name ports it has', () => {
    for (const service of docs.filter((d) => d.object.kind === 'Service')) {
      const selector = service.object.spec.selector as Record<string, string>;
      const selected = pods.filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v));
      assert.equal(selected.length, 1, `${service.label} selects ${selected.length} pods`);
      const pod = selected[0]!;
      const named = new Set(
        (pod.spec.containers ?? []).flatMap((c: { ports?: { name?: string }[] }) =>
          (c.ports ?? []).map((p) => p.name),
        ),
      );
      for (const port of service.object.spec.ports) {
        if (typeof port.targetPort === 'string')
          assert.ok(named.has(port.targetPort), `${service.label}: ${port.targetPort}`);
      }
    }
  });

  test('failover: one replica (one pod holds the address), and a Deployment replaces it with Recreate', () => {
    const controllers = docs.filter(
      (d: ExampleDoc) => d.object.kind === 'Deployment' || d.object.kind === 'ReplicationController',
    );
    assert.equal(controllers.length, 2);
    for (const d of controllers) assert.equal(d.object.spec.replicas, 1, d.label);
    const deployment = controllers.find((d) => d.object.kind === 'Deployment')!;
    assert.equal(deployment.object.spec.strategy?.type, 'Recreate');
  });
});
