import { stringify } from 'yaml';

/** What a manifest needs of a lab pod. */
export interface ManifestPod {
  readonly name: string;
  /** The Kubernetes namespace. */
  readonly namespace: string;
  /** The node it runs on, `node<i>`. */
  readonly nodeName: string;
  /** Its node's address on the node network (`status.hostIP`). */
  readonly hostIP: string;
  readonly ip4: string;
  readonly ip6: string;
}

/**
 * The lab's pods as Kubernetes manifests, pure: a Namespace (core v1) for each namespace that has a
 * pod (sorted by name), then a Pod per pod in the order given, with `spec.nodeName`, `status.phase:
 * Running`, `status.hostIP`, `status.podIP` (IPv4) and `status.podIPs` (IPv4 then IPv6), as the API
 * server shows a running dual-stack pod. Documents are separated by `---`; a node agent's directory
 * source reads the text as it is.
 *
 * @param pods the pods
 * @returns the YAML text, empty when there are no pods
 */
export function podManifestsYaml(pods: readonly ManifestPod[]): string {
  const namespaces = [...new Set(pods.map((pod) => pod.namespace))].sort();
  const documents: unknown[] = [
    ...namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    ...pods.map((pod) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: pod.namespace },
      spec: {
        nodeName: pod.nodeName,
        containers: [{ name: 'lab', image: 'lab.invalid/pod:none' }],
      },
      status: {
        phase: 'Running',
        hostIP: pod.hostIP,
        podIP: pod.ip4,
        podIPs: [{ ip: pod.ip4 }, { ip: pod.ip6 }],
      },
    })),
  ];
  return documents.map((document) => stringify(document)).join('---\n');
}
