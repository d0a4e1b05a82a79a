/**
 * A CustomResourceDefinition's schema as a JSON Schema that ajv compiles, so that objects can be
 * checked against our CRDs without a cluster; and the structural-schema rules the API server
 * applies to a CRD before it accepts it.
 */
import type { Yaml } from './_examples.js';

/** A node of an openAPIV3Schema (apiextensions.k8s.io/v1 JSONSchemaProps), as parsed YAML. */
export type SchemaNode = Record<string, Yaml>;

/** The fields every object has, which a CRD's schema need not name. */
const OBJECT_FIELDS: SchemaNode = {
  apiVersion: { type: 'string' },
  kind: { type: 'string' },
  metadata: { type: 'object' },
};

/**
 * Converts a structural schema to a JSON Schema (draft-07) as the API server applies it with
 * kubectl's strict field validation: `x-kubernetes-*` keys dropped, `nullable` as a `null` type,
 * and every object with `properties` closed (`additionalProperties: false`), since an unknown field
 * is an error rather than pruned; an object with `x-kubernetes-preserve-unknown-fields` stays open.
 * Pure: the input is not changed.
 *
 * @param schema a version's `schema.openAPIV3Schema`
 * @returns the JSON Schema, with apiVersion, kind and metadata allowed at the top
 */
export function crdToJsonSchema(schema: SchemaNode): SchemaNode {
  const root = convert(schema);
  root.properties = { ...OBJECT_FIELDS, ...(root.properties ?? {}) };
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...root };
}

function convert(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, SchemaNode>).map(([name, child]) => [name, convert(child)]),
      );
    } else if (
      key === 'items' ||
      key === 'not' ||
      (key === 'additionalProperties' && typeof value === 'object')
    ) {
      out[key] = convert(value);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = (value as SchemaNode[]).map(convert);
    } else {
      out[key] = value;
    }
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (out.properties !== undefined && out.additionalProperties === undefined) {
    if (node['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  }
  return out;
}

/**
 * The ways a schema breaks the structural-schema rules (Kubernetes' apiextensions validation):
 * every node says its `type` (unless it is int-or-string or preserves unknown fields), `items` is
 * one schema, `additionalProperties` does not come with `properties`, and at the top `metadata`
 * is a bare `type: object`.
 *
 * @param schema a version's `schema.openAPIV3Schema`
 * @returns one `path: problem` line per problem; empty when the schema is structural
 */
export function structuralProblems(schema: SchemaNode): string[] {
  const problems: string[] = [];
  const metadata = schema.properties?.metadata as SchemaNode | undefined;
  if (
    metadata !== undefined &&
    (metadata.type !== 'object' || Object.keys(metadata).some((k) => k !== 'type'))
  ) {
    problems.push('openAPIV3Schema.properties.metadata: only `type: object` is allowed');
  }
  if (schema.type !== 'object') problems.push('openAPIV3Schema.type: must be object');
  visit(schema, 'openAPIV3Schema', problems);
  return problems;
}

function visit(node: SchemaNode, path: string, problems: string[]): void {
  const open =
    node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
  if (typeof node.type !== 'string' && !open) problems.push(`${path}.type: must be specified`);
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    problems.push(`${path}: properties and additionalProperties are mutually exclusive`);
  }
  if (node.type === 'array' && (typeof node.items !== 'object' || Array.isArray(node.items))) {
    problems.push(`${path}.items: must be one schema`);
  }
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, SchemaNode>)) {
    visit(child, `${path}.properties.${name}`, problems);
  }
  if (typeof node.items === 'object' && !Array.isArray(node.items))
    visit(node.items, `${path}.items`, problems);
  if (typeof node.additionalProperties === 'object') {
    visit(node.additionalProperties, `${path}.additionalProperties`, problems);
  }
}
