/**
 * Unknown-field checking for Kubernetes objects, as `kubectl apply` (strict field validation) does:
 * every key of a manifest must be a field of its API type. The Kubernetes OpenAPI schemas allow
 * unknown fields, so the schema validation alone would accept a misspelt `initContainer:`; this
 * walks the manifest along the API types that kubernetes-models generates from those same
 * schemas (its .d.ts files), read with the TypeScript compiler.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** A file that exists only in memory: the types we check against, by kind. */
const ENTRY = `${REPO}test/manifests/__kubernetes_kinds__.ts`;
const ENTRY_SOURCE = `
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IReplicationController } from 'kubernetes-models/v1/ReplicationController';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import type { IJSONSchemaProps } from 'kubernetes-models/apiextensions.k8s.io/v1/JSONSchemaProps';
export interface Kinds {
  Pod: IPod;
  Service: IService;
  ConfigMap: IConfigMap;
  Namespace: INamespace;
  ServiceAccount: IServiceAccount;
  ReplicationController: IReplicationController;
  Deployment: IDeployment;
  DaemonSet: IDaemonSet;
  ClusterRole: IClusterRole;
  ClusterRoleBinding: IClusterRoleBinding;
  Role: IRole;
  RoleBinding: IRoleBinding;
  CustomResourceDefinition: ICustomResourceDefinition;
  ObjectMeta: NonNullable<IPod['metadata']>;
  JSONSchemaProps: IJSONSchemaProps;
}
`;

/** The kinds {@link unknownFields} knows; `ObjectMeta` is for objects of other kinds' metadata. */
export type CheckedKind =
  | 'Pod'
  | 'Service'
  | 'ConfigMap'
  | 'Namespace'
  | 'ServiceAccount'
  | 'ReplicationController'
  | 'Deployment'
  | 'DaemonSet'
  | 'ClusterRole'
  | 'ClusterRoleBinding'
  | 'Role'
  | 'RoleBinding'
  | 'CustomResourceDefinition'
  | 'ObjectMeta';

/**
 * kubernetes-models types a CRD schema's `items` and `additionalProperties` as empty interfaces
 * (the API's "a schema, or a list of them / a boolean"): walked as the schema they hold.
 */
const SCHEMA_OR_SOMETHING = new Set(['IJSONSchemaPropsOrArray', 'IJSONSchemaPropsOrBool']);

let loaded: { checker: ts.TypeChecker; kinds: ts.Type; schema: ts.Type } | undefined;

function load(): { checker: ts.TypeChecker; kinds: ts.Type; schema: ts.Type } {
  if (loaded !== undefined) return loaded;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === ENTRY
      ? ts.createSourceFile(name, ENTRY_SOURCE, language)
      : getSourceFile(name, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === ENTRY || fileExists(name);
  const program = ts.createProgram([ENTRY], options, host);
  const problems = ts.getPreEmitDiagnostics(program, program.getSourceFile(ENTRY));
  if (problems.length > 0) {
    throw new Error(
      `cannot load the Kubernetes types: ${problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`,
    );
  }
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!);
  const symbol = module?.exports?.get(ts.escapeLeadingUnderscores('Kinds'));
  if (symbol === undefined) throw new Error('cannot load the Kubernetes types: no Kinds');
  const kinds = checker.getDeclaredTypeOfSymbol(symbol);
  loaded = { checker, kinds, schema: checker.getTypeOfSymbol(kinds.getProperty('JSONSchemaProps')!) };
  return loaded;
}

/**
 * The fields of a manifest that its API type does not have.
 *
 * @param value the object (parsed YAML)
 * @param kind which API type it is
 * @returns one `path: unknown field` line per unknown key; empty when every key is known
 */
export function unknownFields(value: unknown, kind: CheckedKind): string[] {
  const { checker, kinds, schema } = load();
  const property = kinds.getProperty(kind);
  if (property === undefined) throw new Error(`unknownFields: no type for ${kind}`);
  const errors: string[] = [];
  walk({ checker, schema }, value, checker.getTypeOfSymbol(property), kind, errors);
  return errors;
}

interface Walker {
  readonly checker: ts.TypeChecker;
  /** IJSONSchemaProps, for the empty interfaces that stand for it. */
  readonly schema: ts.Type;
}

function walk(walker: Walker, value: unknown, declared: ts.Type, path: string, errors: string[]): void {
  if (value === null || value === undefined || typeof value !== 'object') return; // scalars: the schema checks them
  const { checker } = walker;
  let type = checker.getNonNullableType(declared);
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
  const name = (type.aliasSymbol ?? type.getSymbol())?.getName() ?? '';
  if (SCHEMA_OR_SOMETHING.has(name)) {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        walk(walker, item, walker.schema, `${path}[${i}]`, errors);
      });
    } else walk(walker, value, walker.schema, path, errors);
    return;
  }
  if (Array.isArray(value)) {
    const element = checker.isArrayType(type)
      ? checker.getTypeArguments(type as ts.TypeReference)[0]
      : undefined;
    if (element === undefined) {
      errors.push(`${path}: a list where the API has ${checker.typeToString(type)}`);
      return;
    }
    value.forEach((item, i) => {
      walk(walker, item, element, `${path}[${i}]`, errors);
    });
    return;
  }
  if (type.isUnion()) {
    // e.g. int-or-string: an object value must match the member that is an object
    const member = type.types.find(
      (t) => t.getProperties().length > 0 || checker.getIndexInfoOfType(t, ts.IndexKind.String) !== undefined,
    );
    if (member === undefined) return;
    type = member;
  }
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  // Any JSON value (a CRD's `default`, `enum` or `example`): an empty interface.
  if (index === undefined && type.getProperties().length === 0) return;
  for (const [key, child] of Object.entries(value)) {
    const field = type.getProperty(key);
    if (field !== undefined) walk(walker, child, checker.getTypeOfSymbol(field), `${path}.${key}`, errors);
    else if (index !== undefined) walk(walker, child, index.type, `${path}.${key}`, errors);
    else errors.push(`${path}.${key}: unknown field`);
  }
}
