/**
 * What RBAC objects grant a service account, decided as the RBAC authorizer decides it, for
 * manifests without a cluster: a ClusterRoleBinding grants its ClusterRole everywhere; a
 * RoleBinding grants its Role (or ClusterRole) in the binding's namespace only.
 */
import type { K8sObject, Yaml } from './_examples.js';

/** A service account, by namespace and name. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/** One request to the API: a verb on a resource, in a namespace (or cluster-wide) and by name. */
export interface Access {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  /** The namespace of a namespaced request; undefined: cluster-wide (every namespace). */
  readonly namespace?: string | undefined;
  /** The object's name, for rules with resourceNames. */
  readonly name?: string | undefined;
}

/** A rule granted to a subject, and where it applies. */
export interface Grant {
  readonly rule: Yaml;
  /** Undefined: everywhere (a ClusterRoleBinding); else only in this namespace. */
  readonly namespace: string | undefined;
  /** `ClusterRoleBinding/name` or `RoleBinding/namespace/name`, for messages. */
  readonly via: string;
}

/**
 * The rules the objects grant a service account.
 *
 * @param objects the manifests (bindings and roles among others)
 * @param account the service account
 * @returns every rule with where it applies
 * @throws for a binding whose role is not among the objects
 */
export function grantsOf(objects: readonly K8sObject[], account: ServiceAccountRef): Grant[] {
  const bindsAccount = (binding: K8sObject) =>
    (binding.subjects ?? []).some(
      (s: Yaml) =>
        s.kind === 'ServiceAccount' &&
        s.name === account.name &&
        (s.namespace ?? binding.metadata?.namespace) === account.namespace,
    );
  const grants: Grant[] = [];
  for (const binding of objects) {
    if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') continue;
    if (!bindsAccount(binding)) continue;
    const bindingNamespace = binding.kind === 'RoleBinding' ? binding.metadata?.namespace : undefined;
    const ref = binding.roleRef;
    const role = objects.find(
      (o) =>
        o.kind === ref.kind &&
        o.metadata?.name === ref.name &&
        (ref.kind === 'ClusterRole' || o.metadata?.namespace === bindingNamespace),
    );
    const via = `${binding.kind}/${bindingNamespace === undefined ? '' : `${bindingNamespace}/`}${binding.metadata?.name}`;
    if (role === undefined) throw new Error(`${via}: no ${ref.kind} ${ref.name}`);
    for (const rule of role.rules ?? []) grants.push({ rule, namespace: bindingNamespace, via });
  }
  return grants;
}

/**
 * Whether a rule allows a request (wildcards `*` included; resourceNames, when given, limit it).
 */
export function ruleAllows(rule: Yaml, access: Access): boolean {
  const has = (list: unknown, value: string) =>
    Array.isArray(list) && (list.includes(value) || list.includes('*'));
  if (
    !has(rule.apiGroups, access.group) ||
    !has(rule.resources, access.resource) ||
    !has(rule.verbs, access.verb)
  ) {
    return false;
  }
  const names = rule.resourceNames as string[] | undefined;
  return (
    names === undefined || names.length === 0 || (access.name !== undefined && names.includes(access.name))
  );
}

/**
 * Whether the grants allow a request: a cluster-wide request needs a cluster-wide grant, a
 * namespaced one a grant everywhere or in that namespace.
 */
export function allows(grants: readonly Grant[], access: Access): boolean {
  return grants.some(
    (g) => ruleAllows(g.rule, access) && (g.namespace === undefined || g.namespace === access.namespace),
  );
}
