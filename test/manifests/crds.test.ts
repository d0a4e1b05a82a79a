import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { readClusterObject } from '../../src/cluster/objects.js';
import type { EgressNetworkPolicyObject } from '../../src/cluster/types.js';
import { CLUSTER_KINDS, NETWORK_API_VERSION } from '../../src/cluster/types.js';
import { crdToJsonSchema, type SchemaNode, structuralProblems } from './_crd-schema.js';
import { type K8sObject, loadExamples, REPO, type Yaml } from './_examples.js';

const docs = loadExamples();
const crds = docs.filter((d) => d.object.kind === 'CustomResourceDefinition');
const GROUP = NETWORK_API_VERSION.split('/')[0]!;
const VERSION = NETWORK_API_VERSION.split('/')[1]!;

/** The fixtures: NetNamespaces and HostSubnets as a 3.11 cluster holds them. */
const fixtures = parseAllDocuments(
  readFileSync(join(REPO, 'test/manifests/testdata/network-objects.yaml'), 'utf8'),
).map((d) => d.toJS() as K8sObject);
/** The example policies (examples/egress-network-policy.yaml and any other example). */
const policies = docs.filter((d) => d.object.kind === 'EgressNetworkPolicy').map((d) => d.object);

const ajv = new Ajv({ allErrors: true, strict: true });
const validators = new Map<string, ValidateFunction>(
  crds.map((d) => [d.object.spec.names.kind, ajv.compile(crdToJsonSchema(schemaOf(d.object)))]),
);

function schemaOf(crd: K8sObject): SchemaNode {
  return crd.spec.versions[0].schema.openAPIV3Schema;
}

function crdOf(kind: string): K8sObject {
  const crd = crds.find((d) => d.object.spec.names.kind === kind);
  assert.ok(crd, `no CRD for ${kind}`);
  return crd.object;
}

/** Validates against the CRD of the object's kind; returns ajv's errors as text, or '' when valid. */
function check(object: K8sObject): string {
  const validate = validators.get(object.kind);
  assert.ok(validate, `no CRD for ${object.kind}`);
  return validate(object) ? '' : ajv.errorsText(validate.errors);
}

/** What OpenShift 3.11 serves for each kind the agent reads from network.openshift.io. */
const OPENSHIFT_RESOURCES: Record<string, { plural: string; scope: string }> = {
  EgressNetworkPolicy: { plural: 'egressnetworkpolicies', scope: 'Namespaced' },
  NetNamespace: { plural: 'netnamespaces', scope: 'Cluster' },
  HostSubnet: { plural: 'hostsubnets', scope: 'Cluster' },
};

describe('node-agent-crds.yaml: the network.openshift.io kinds for plain Kubernetes', () => {
  test('one CRD per network kind the agent reads: named <plural>.<group>, v1 served and stored, scoped as on OpenShift', () => {
    const networkKinds = CLUSTER_KINDS.filter((k) => k !== 'Namespace' && k !== 'Pod');
    assert.deepEqual(crds.map((d) => d.object.spec.names.kind).sort(), [...networkKinds].sort());
    for (const kind of networkKinds) {
      const crd = crdOf(kind);
      const { group, names, scope, versions } = crd.spec;
      assert.equal(group, GROUP);
      assert.equal(crd.metadata?.name, `${names.plural}.${group}`);
      assert.deepEqual({ plural: names.plural, scope }, OPENSHIFT_RESOURCES[kind], kind);
      assert.equal(names.singular, kind.toLowerCase());
      assert.equal(names.listKind, `${kind}List`);
      assert.equal(versions.length, 1);
      assert.deepEqual([versions[0].name, versions[0].served, versions[0].storage], [VERSION, true, true]);
    }
  });

  test('the schemas are structural (the API server refuses a CRD otherwise)', () => {
    for (const d of crds) assert.deepEqual(structuralProblems(schemaOf(d.object)), [], d.label);
  });

  test('structuralProblems() names what breaks the rules', () => {
    assert.deepEqual(
      structuralProblems({
        type: 'object',
        properties: {
          metadata: { type: 'object', properties: { name: { type: 'string' } } },
          spec: { properties: { list: { type: 'array' } } },
        },
      }),
      [
        'openAPIV3Schema.properties.metadata: only `type: object` is allowed',
        'openAPIV3Schema.properties.spec.type: must be specified',
        'openAPIV3Schema.properties.spec.properties.list.items: must be one schema',
      ],
    );
  });

  test("OpenShift 3.11's fields: EgressNetworkPolicy in spec.egress[], NetNamespace and HostSubnet at the top level", () => {
    const fields = (node: SchemaNode) => Object.keys(node.properties ?? {}).sort();
    const policy = schemaOf(crdOf('EgressNetworkPolicy'));
    assert.deepEqual(fields(policy), ['apiVersion', 'kind', 'metadata', 'spec']);
    assert.deepEqual(fields(policy.properties.spec), ['egress']);
    const rule = policy.properties.spec.properties.egress.items;
    assert.deepEqual(fields(rule), ['to', 'type']);
    assert.deepEqual(rule.properties.type.enum, ['Allow', 'Deny']);
    assert.deepEqual(fields(rule.properties.to), ['cidrSelector', 'dnsName']);
    assert.equal(policy.properties.spec.properties.egress.maxItems, undefined, 'the agent decides the limit');
    assert.deepEqual(fields(schemaOf(crdOf('NetNamespace'))), [
      'apiVersion',
      'egressIPs',
      'kind',
      'metadata',
      'netid',
      'netname',
    ]);
    assert.equal(schemaOf(crdOf('NetNamespace')).properties.netid.type, 'integer');
    assert.deepEqual(fields(schemaOf(crdOf('HostSubnet'))), [
      'apiVersion',
      'egressCIDRs',
      'egressIPs',
      'host',
      'hostIP',
      'kind',
      'metadata',
      'subnet',
    ]);
  });

  test('printer columns as `oc get` shows them, each on a field of the schema', () => {
    const columns = (kind: string) =>
      (crdOf(kind).spec.versions[0].additionalPrinterColumns ?? []).map((c: Yaml) => c.name.toUpperCase());
    assert.deepEqual(columns('NetNamespace'), ['NETID', 'EGRESS IPS']);
    assert.deepEqual(columns('HostSubnet'), ['HOST', 'HOST IP', 'SUBNET', 'EGRESS CIDRS', 'EGRESS IPS']);
    for (const d of crds) {
      const schema = schemaOf(d.object);
      for (const column of d.object.spec.versions[0].additionalPrinterColumns ?? []) {
        const field = schema.properties[String(column.jsonPath).replace(/^\./, '')];
        assert.ok(field, `${d.label}: ${column.jsonPath} is no field`);
        assert.equal(
          column.type,
          field.type === 'array' ? 'string' : field.type,
          `${d.label} ${column.name}`,
        );
      }
    }
  });

  test('accept the example policies and the 3.11 objects of testdata/network-objects.yaml', () => {
    assert.ok(policies.length >= 2 && fixtures.length >= 4);
    for (const object of [...policies, ...fixtures]) {
      assert.equal(check(object), '', `${object.kind}/${object.metadata?.name}`);
    }
  });

  test('what they accept, the agent reads with the same fields (readClusterObject)', () => {
    for (const object of policies) {
      const read = readClusterObject(object);
      assert.ok(read.ok && read.object?.kind === 'EgressNetworkPolicy', object.metadata?.name);
      assert.deepEqual(read.object.object.egress, object.spec.egress);
    }
    for (const object of fixtures) {
      const read = readClusterObject(object);
      assert.ok(read.ok && read.object !== undefined, `${object.kind}/${object.metadata?.name}`);
      const typed = read.object.object as unknown as Record<string, unknown>;
      const fields =
        object.kind === 'NetNamespace'
          ? ['netname', 'netid', 'egressIPs']
          : ['host', 'hostIP', 'subnet', 'egressIPs', 'egressCIDRs'];
      for (const field of fields)
        assert.deepEqual(typed[field], object[field] ?? [], `${object.metadata?.name} ${field}`);
    }
  });

  test('refuse a misspelt field, a wrong type, a missing field, an unknown rule type', () => {
    const policy = structuredClone(policies[0]!);
    policy.spec.egress[0].to = { cidrSelecter: '1.2.3.0/24' };
    assert.match(check(policy), /spec\/egress\/0\/to must NOT have additional properties/);
    const lowercase = structuredClone(policies[0]!);
    lowercase.spec.egress[0].type = 'allow';
    assert.match(check(lowercase), /spec\/egress\/0\/type must be equal to one of the allowed values/);
    const noEgress = structuredClone(policies[0]!);
    noEgress.spec = { rules: noEgress.spec.egress };
    assert.match(check(noEgress), /must have required property 'egress'/);
    const topLevel = structuredClone(policies[0]!);
    topLevel.egress = topLevel.spec.egress; // NetNamespace style: not for a policy
    assert.match(check(topLevel), /must NOT have additional properties/);

    const netns = structuredClone(fixtures.find((o) => o.kind === 'NetNamespace')!);
    netns.egressIP = netns.egressIPs;
    delete netns.egressIPs;
    assert.match(check(netns), /must NOT have additional properties/);
    const netidText = structuredClone(fixtures.find((o) => o.kind === 'NetNamespace')!);
    netidText.netid = '12';
    assert.match(check(netidText), /\/netid must be integer/);
    const nested = structuredClone(fixtures.find((o) => o.kind === 'NetNamespace')!);
    nested.spec = { egressIPs: nested.egressIPs }; // the fields are top-level, as in OpenShift
    delete nested.egressIPs;
    assert.match(check(nested), /must NOT have additional properties/);

    const subnet = structuredClone(fixtures.find((o) => o.kind === 'HostSubnet')!);
    delete subnet.hostIP;
    subnet.hostIp = '192.168.1.10';
    assert.match(check(subnet), /must have required property 'hostIP'/);
    const single = structuredClone(fixtures.find((o) => o.kind === 'HostSubnet')!);
    single.egressIPs = '192.168.1.100';
    assert.match(check(single), /\/egressIPs must be array/);
  });

  test('crdToJsonSchema(): x-kubernetes keys dropped, nullable as null, preserve-unknown-fields stays open', () => {
    assert.deepEqual(
      crdToJsonSchema({
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            'x-kubernetes-preserve-unknown-fields': true,
            properties: { a: { type: 'string', nullable: true } },
          },
          list: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'object', properties: {} } },
        },
      }),
      {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        additionalProperties: false,
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { type: 'object' },
          spec: { type: 'object', properties: { a: { type: ['string', 'null'] } } },
          list: { type: 'array', items: { type: 'object', properties: {}, additionalProperties: false } },
        },
      },
    );
  });
});

describe('the example policies', () => {
  test('at most one EgressNetworkPolicy per namespace, none in default (either would not be enforced as written)', () => {
    const namespaces = policies.map((p) => p.metadata?.namespace);
    for (const namespace of namespaces)
      assert.ok(namespace !== undefined && namespace !== 'default', namespace);
    assert.equal(new Set(namespaces).size, namespaces.length, `one per namespace: ${namespaces.join(', ')}`);
  });

  test('the seed example: allow 1.2.3.0/24, allow www.foo.com, then deny 0.0.0.0/0; the dual-stack one denies ::/0 too', () => {
    const seed = policies.find((p) => p.metadata?.namespace === 'myproject');
    assert.deepEqual(seed?.spec.egress, [
      { type: 'Allow', to: { cidrSelector: '1.2.3.0/24' } },
      { type: 'Allow', to: { dnsName: 'www.foo.com' } },
      { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
    ]);
    const dual = policies.find((p) => p.metadata?.namespace !== 'myproject');
    const denies = dual?.spec.egress
      .filter((r: Yaml) => r.type === 'Deny')
      .map((r: Yaml) => r.to.cidrSelector);
    assert.deepEqual(denies, ['0.0.0.0/0', '::/0']);
    assert.deepEqual(dual?.spec.egress.slice(-2), [
      { type: 'Deny', to: { cidrSelector: '0.0.0.0/0' } },
      { type: 'Deny', to: { cidrSelector: '::/0' } },
    ]);
  });

  const validatorFile = join(REPO, 'dist/src/firewall/validate-policy.js');
  test("pass the agent's own validation (OpenShift's API checks: canonical CIDRs, DNS-1123 names)", {
    skip: existsSync(validatorFile) ? false : 'src/firewall/validate-policy.ts is not built yet',
  }, async () => {
    const { validatePolicy } = (await import(validatorFile)) as {
      validatePolicy: (p: EgressNetworkPolicyObject) => { ok: boolean; errors?: { message: string }[] };
    };
    for (const object of policies) {
      const read = readClusterObject(object);
      assert.ok(read.ok && read.object?.kind === 'EgressNetworkPolicy');
      const result = validatePolicy(read.object.object);
      assert.ok(
        result.ok,
        `${object.metadata?.namespace}: ${result.errors?.map((e) => e.message).join('; ')}`,
      );
    }
  });
});
