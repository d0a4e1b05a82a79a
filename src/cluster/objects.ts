import {
  type ClusterKind,
  type ClusterState,
  type EgressNetworkPolicyObject,
  type HostSubnetObject,
  type NamespaceObject,
  NETWORK_API_VERSION,
  type NetNamespaceObject,
  type PodObject,
  type SourceProblem,
} from './types.js';

/** A cluster object read from its manifest or API shape. */
export type ClusterObject =
  | { readonly kind: 'Namespace'; readonly key: string; readonly object: NamespaceObject }
  | { readonly kind: 'Pod'; readonly key: string; readonly object: PodObject }
  | { readonly kind: 'EgressNetworkPolicy'; readonly key: string; readonly object: EgressNetworkPolicyObject }
  | { readonly kind: 'NetNamespace'; readonly key: string; readonly object: NetNamespaceObject }
  | { readonly kind: 'HostSubnet'; readonly key: string; readonly object: HostSubnetObject };

/** What reading one manifest document gave. */
export type ReadObjectResult =
  | { readonly ok: true; readonly object: ClusterObject }
  /** A kind the agent does not read (a Deployment beside the policies): not a problem. */
  | { readonly ok: true; readonly object: undefined }
  | { readonly ok: false; readonly message: string };

const CORE_KINDS = new Set(['Namespace', 'Pod']);
const NETWORK_KINDS = new Set(['EgressNetworkPolicy', 'NetNamespace', 'HostSubnet']);

/**
 * Reads one object (a parsed YAML/JSON document, or an item of a list from the API). Pure.
 *
 * The network kinds are taken with `apiVersion: network.openshift.io/v1` or the legacy `v1` that
 * OpenShift 3.x also served them under (the seed's example policy says `"apiVersion": "v1"`).
 * Namespaced kinds without `metadata.namespace` get `defaultNamespace` (what `oc create -n` does),
 * or are refused when there is none.
 *
 * @param raw the document
 * @param defaultNamespace the namespace of a namespaced object that names none
 * @param kindHint the kind when the document has none (items of an API list)
 * @returns the typed object, `undefined` for a kind the agent does not read, or why it is malformed
 */
export function readClusterObject(
  raw: unknown,
  defaultNamespace?: string,
  kindHint?: ClusterKind,
): ReadObjectResult {
  if (!isRecord(raw)) return { ok: false, message: 'not an object' };
  const kind = typeof raw.kind === 'string' ? raw.kind : kindHint;
  if (kind === undefined) return { ok: false, message: 'no kind' };
  const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : undefined;
  if (CORE_KINDS.has(kind)) {
    if (apiVersion !== undefined && apiVersion !== 'v1') return { ok: true, object: undefined };
  } else if (NETWORK_KINDS.has(kind)) {
    if (apiVersion !== undefined && apiVersion !== NETWORK_API_VERSION && apiVersion !== 'v1') {
      return { ok: true, object: undefined };
    }
  } else {
    return { ok: true, object: undefined };
  }
  const metadata = raw.metadata;
  if (!isRecord(metadata)) return { ok: false, message: `${kind} without metadata` };
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') return { ok: false, message: `${kind} without metadata.name` };
  const namespaced = kind === 'Pod' || kind === 'EgressNetworkPolicy';
  let namespace: string | undefined;
  if (namespaced) {
    namespace =
      typeof metadata.namespace === 'string' && metadata.namespace !== ''
        ? metadata.namespace
        : defaultNamespace;
    if (namespace === undefined) return { ok: false, message: `${kind} ${name} without metadata.namespace` };
  }
  const key = namespace === undefined ? name : `${namespace}/${name}`;
  switch (kind) {
    case 'Namespace':
      return { ok: true, object: { kind, key, object: { name } } };
    case 'Pod':
      return { ok: true, object: { kind, key, object: readPod(raw, namespace!, name) } };
    case 'EgressNetworkPolicy': {
      const spec = isRecord(raw.spec) ? raw.spec : {};
      const created = metadata.creationTimestamp;
      return {
        ok: true,
        object: {
          kind,
          key,
          object: {
            namespace: namespace!,
            name,
            creationTimestamp: typeof created === 'string' ? created : undefined,
            egress: spec.egress,
          },
        },
      };
    }
    case 'NetNamespace':
      return {
        ok: true,
        object: {
          kind,
          key,
          object: {
            name,
            netname: typeof raw.netname === 'string' && raw.netname !== '' ? raw.netname : name,
            netid: typeof raw.netid === 'number' && Number.isInteger(raw.netid) ? raw.netid : undefined,
            egressIPs: listOf(raw.egressIPs),
          },
        },
      };
    default:
      return {
        ok: true,
        object: {
          kind: 'HostSubnet',
          key,
          object: {
            name,
            host: typeof raw.host === 'string' && raw.host !== '' ? raw.host : name,
            hostIP: typeof raw.hostIP === 'string' ? raw.hostIP : '',
            subnet: typeof raw.subnet === 'string' ? raw.subnet : '',
            egressIPs: listOf(raw.egressIPs),
            egressCIDRs: listOf(raw.egressCIDRs),
          },
        },
      };
  }
}

function readPod(raw: Record<string, unknown>, namespace: string, name: string): PodObject {
  const spec = isRecord(raw.spec) ? raw.spec : {};
  const status = isRecord(raw.status) ? raw.status : {};
  const listed = Array.isArray(status.podIPs)
    ? status.podIPs.flatMap((entry) => (isRecord(entry) && typeof entry.ip === 'string' ? [entry.ip] : []))
    : [];
  const ips =
    listed.length > 0
      ? listed
      : typeof status.podIP === 'string' && status.podIP !== ''
        ? [status.podIP]
        : [];
  return {
    namespace,
    name,
    nodeName: typeof spec.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined,
    hostNetwork: spec.hostNetwork === true,
    phase: typeof status.phase === 'string' ? status.phase : undefined,
    ips,
  };
}

/**
 * The documents of a parsed file or API answer: a `List` (or any `*List` kind with `items`) is its
 * items, anything else itself. Pure.
 *
 * @param raw a parsed document
 * @returns the objects in it, in order
 */
export function flattenLists(raw: unknown): unknown[] {
  if (
    isRecord(raw) &&
    typeof raw.kind === 'string' &&
    raw.kind.endsWith('List') &&
    Array.isArray(raw.items)
  ) {
    return raw.items.flatMap((item) => flattenLists(item));
  }
  return [raw];
}

/** Collects objects into a ClusterState; a later object with the same key replaces the earlier. */
export class ClusterStateBuilder {
  readonly #namespaces = new Map<string, NamespaceObject>();
  readonly #pods = new Map<string, PodObject>();
  readonly #policies = new Map<string, EgressNetworkPolicyObject>();
  readonly #netNamespaces = new Map<string, NetNamespaceObject>();
  readonly #hostSubnets = new Map<string, HostSubnetObject>();
  readonly #problems: SourceProblem[] = [];

  /** Adds an object. */
  add(object: ClusterObject): void {
    switch (object.kind) {
      case 'Namespace':
        this.#namespaces.set(object.key, object.object);
        break;
      case 'Pod':
        this.#pods.set(object.key, object.object);
        break;
      case 'EgressNetworkPolicy':
        this.#policies.set(object.key, object.object);
        break;
      case 'NetNamespace':
        this.#netNamespaces.set(object.key, object.object);
        break;
      case 'HostSubnet':
        this.#hostSubnets.set(object.key, object.object);
        break;
    }
  }

  /** Removes the object of a kind with a key (a watch's DELETED event). */
  remove(kind: ClusterKind, key: string): void {
    const maps: Record<ClusterKind, Map<string, unknown>> = {
      Namespace: this.#namespaces,
      Pod: this.#pods,
      EgressNetworkPolicy: this.#policies,
      NetNamespace: this.#netNamespaces,
      HostSubnet: this.#hostSubnets,
    };
    maps[kind].delete(key);
  }

  /** Records an object that was left out. */
  problem(problem: SourceProblem): void {
    this.#problems.push(problem);
  }

  /** A state of what was added so far (copies: the builder may go on). */
  build(): ClusterState {
    return {
      namespaces: new Map(this.#namespaces),
      pods: new Map(this.#pods),
      egressNetworkPolicies: new Map(this.#policies),
      netNamespaces: new Map(this.#netNamespaces),
      hostSubnets: new Map(this.#hostSubnets),
      problems: [...this.#problems],
    };
  }
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
