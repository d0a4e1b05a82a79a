/**
 * The example manifests (examples/*.yaml) as data: every document, the pod specs in them, the
 * containers of our images, and each container's environment resolved the way the kubelet resolves
 * it (values, ConfigMap keys, files of mounted ConfigMaps).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const EXAMPLES = join(REPO, 'examples');

/** One YAML document of an example file. */
export interface ExampleDoc {
  readonly file: string;
  /** 0-based position in the file. */
  readonly index: number;
  readonly object: K8sObject;
  /** `file#index Kind/name`, for messages. */
  readonly label: string;
}

/** Parsed YAML: its shape is what the API schemas check. */
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked against the API schemas
export type Yaml = any;

/** The parts of a Kubernetes object we read; the schemas check the rest. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; [k: string]: Yaml };
  [k: string]: Yaml;
};

/**
 * Which of our images a container runs, and as what: the router image runs the node agent when its
 * arguments start with `node` (the DaemonSet of node-agent-*.yaml).
 */
export type ImageRole = 'router' | 'http-proxy' | 'dns-proxy' | 'pod-wait' | 'node-agent';

/** Our images' names in the examples (a placeholder registry: examples/README.md). */
export const IMAGE_ROLES: Readonly<Record<string, Exclude<ImageRole, 'node-agent'>>> = {
  'egress-router': 'router',
  'egress-http-proxy': 'http-proxy',
  'egress-dns-proxy': 'dns-proxy',
  'egress-pod-wait': 'pod-wait',
};
export const EXAMPLE_REGISTRY = 'quay.io/example/';

/** Every variable each image reads (the CLI's; docs/images.md lists them). */
export const ACCEPTED_ENV: Readonly<Record<ImageRole, readonly string[]>> = {
  router: [
    'EGRESS_SOURCE',
    'EGRESS_GATEWAY',
    'EGRESS_DESTINATION',
    'EGRESS_DESTINATION_FILE',
    'EGRESS_ROUTER_MODE',
    'EGRESS_ROUTER_DEBUG',
    'EGRESS_ROUTER_POD_INTERFACE',
    'EGRESS_ROUTER_EGRESS_INTERFACE',
  ],
  'http-proxy': ['EGRESS_HTTP_PROXY_DESTINATION', 'EGRESS_HTTP_PROXY_DESTINATION_FILE'],
  'dns-proxy': ['EGRESS_DNS_PROXY_DESTINATION', 'EGRESS_DNS_PROXY_DESTINATION_FILE'],
  'pod-wait': [],
  // The node's name (downward API: spec.nodeName), unless --node-name gives it; the node Leases'
  // namespace (metadata.namespace), unless --lease-namespace gives it.
  'node-agent': ['NODE_NAME', 'POD_NAMESPACE'],
};

/** Reads every document of every examples/*.yaml; YAML errors (and duplicate keys) throw. */
export function loadExamples(): ExampleDoc[] {
  const files = readdirSync(EXAMPLES)
    .filter((name) => name.endsWith('.yaml'))
    .sort();
  return files.flatMap((file) => {
    const text = readFileSync(join(EXAMPLES, file), 'utf8');
    return parseAllDocuments(text, { uniqueKeys: true, strict: true }).map((doc, index) => {
      if (doc.errors.length > 0)
        throw new Error(`${file}#${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const object = doc.toJS() as K8sObject;
      return { file, index, object, label: `${file}#${index} ${object?.kind}/${object?.metadata?.name}` };
    });
  });
}

/** A pod spec in an example: a Pod's, or a controller's template. */
export interface ExamplePod {
  readonly doc: ExampleDoc;
  readonly spec: Yaml;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/** The pod specs of the examples. */
export function podsOf(docs: readonly ExampleDoc[]): ExamplePod[] {
  return docs.flatMap((doc) => {
    const o = doc.object;
    const template =
      o.kind === 'Pod'
        ? o
        : o.kind === 'Deployment' || o.kind === 'ReplicationController' || o.kind === 'DaemonSet'
          ? o.spec?.template
          : undefined;
    if (template === undefined) return [];
    return [
      {
        doc,
        spec: template.spec,
        labels: template.metadata?.labels ?? {},
        annotations: template.metadata?.annotations ?? {},
      },
    ];
  });
}

/** A container of one of our images, with its role. */
export interface OurContainer {
  readonly pod: ExamplePod;
  readonly init: boolean;
  readonly container: Yaml;
  readonly role: ImageRole;
  /** The image's tag. */
  readonly tag: string;
}

/** The containers (init containers too) that run our images; others (a client's) are left out. */
export function ourContainers(pods: readonly ExamplePod[]): OurContainer[] {
  return pods.flatMap((pod) =>
    [
      ...(pod.spec.initContainers ?? []).map((container: unknown) => ({ container, init: true })),
      ...(pod.spec.containers ?? []).map((container: unknown) => ({ container, init: false })),
    ].flatMap(({ container, init }) => {
      const image = String((container as { image?: string }).image ?? '');
      if (!image.startsWith(EXAMPLE_REGISTRY)) return [];
      const [name = '', tag = ''] = image.slice(EXAMPLE_REGISTRY.length).split(':');
      const imageRole = IMAGE_ROLES[name];
      if (imageRole === undefined) throw new Error(`${pod.doc.label}: unknown image ${image}`);
      const args = (container as { args?: unknown[] }).args;
      const role = imageRole === 'router' && args?.[0] === 'node' ? 'node-agent' : imageRole;
      return [{ pod, init, container, role, tag }];
    }),
  );
}

/** The ConfigMaps of all examples, by name (the examples share one namespace). */
export function configMapsOf(docs: readonly ExampleDoc[]): Map<string, Record<string, string>> {
  return new Map(
    docs
      .filter((d) => d.object.kind === 'ConfigMap')
      .map((d) => [d.object.metadata?.name ?? '', d.object.data ?? {}]),
  );
}

/**
 * A container's environment as the kubelet gives it: `value`, `valueFrom.configMapKeyRef`; and for
 * the `*_FILE` variables, the file of a mounted ConfigMap written below `filesDir`, the variable
 * pointing there instead.
 *
 * @throws for a reference that does not resolve (a missing ConfigMap, key, mount or volume)
 */
export function resolveEnv(
  c: OurContainer,
  configMaps: ReadonlyMap<string, Record<string, string>>,
  filesDir: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  const where = `${c.pod.doc.label} container ${c.container.name}`;
  for (const variable of c.container.env ?? []) {
    let value: string;
    if (variable.valueFrom !== undefined) {
      const ref = variable.valueFrom.configMapKeyRef;
      if (ref === undefined)
        throw new Error(`${where}: ${variable.name} comes from something other than a ConfigMap`);
      const data = configMaps.get(ref.name);
      if (data?.[ref.key] === undefined)
        throw new Error(`${where}: ${variable.name}: no ConfigMap ${ref.name} key ${ref.key}`);
      value = data[ref.key]!;
    } else {
      value = String(variable.value ?? '');
    }
    env[variable.name] = variable.name.endsWith('_FILE')
      ? mountedFile(c, value, configMaps, filesDir, where)
      : value;
  }
  return env;
}

function mountedFile(
  c: OurContainer,
  path: string,
  configMaps: ReadonlyMap<string, Record<string, string>>,
  filesDir: string,
  where: string,
): string {
  const mount = (c.container.volumeMounts ?? []).find((m: { mountPath: string }) =>
    path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
  );
  if (mount === undefined) throw new Error(`${where}: ${path} is on no volume mount`);
  const volume = (c.pod.spec.volumes ?? []).find((v: { name: string }) => v.name === mount.name);
  const configMap = volume?.configMap;
  if (configMap === undefined) throw new Error(`${where}: ${path} is not on a ConfigMap volume`);
  const relative = posix.relative(mount.mountPath, path);
  const item = (configMap.items ?? []).find((i: { path: string }) => i.path === relative);
  const key = configMap.items === undefined ? relative : item?.key;
  const text = key === undefined ? undefined : configMaps.get(configMap.name)?.[key];
  if (text === undefined) throw new Error(`${where}: ConfigMap ${configMap.name} has no file ${relative}`);
  const file = join(filesDir, c.pod.doc.file, relative);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}
