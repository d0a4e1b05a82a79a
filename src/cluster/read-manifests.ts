import { parseAllDocuments } from 'yaml';
import { ClusterStateBuilder, flattenLists, readClusterObject } from './objects.js';
import { CLUSTER_KINDS, type ClusterKind, type ClusterState } from './types.js';

/**
 * One file of a manifest directory: its path relative to the directory (`/` between names) and its
 * text, or, when the source could not read it, why (one line).
 */
export type ManifestFile =
  | { readonly name: string; readonly text: string }
  | { readonly name: string; readonly error: string };

/** The endings of the file names a directory source reads. */
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/**
 * Whether a directory entry is one a directory source reads as a manifest: not hidden (a name
 * starting with `.`, which also leaves out a mounted ConfigMap's `..data` and `..2024_…` entries)
 * and ending in `.yaml`, `.yml` or `.json`. Pure.
 *
 * @param name the entry's name (not a path)
 * @returns true for a manifest file name
 */
export function isManifestName(name: string): boolean {
  return !name.startsWith('.') && MANIFEST_EXTENSIONS.some((extension) => name.endsWith(extension));
}

/**
 * Reads the objects of a directory's files into one state. Pure.
 *
 * Files are taken in order of their names (code unit order, so the result does not depend on the
 * order they were listed in); each holds one or more documents (YAML, `---` between them; JSON is
 * YAML too), and a document may be a `List` (what `oc get -o yaml` prints). Every object goes
 * through readClusterObject with no default namespace: a Pod or EgressNetworkPolicy must name its
 * namespace. Kinds the agent does not read are left out silently; empty documents are skipped.
 *
 * Problems never stop the rest of the directory from being read. Each is one line, with origin
 * `<file>`, `<file> document N` (N counts from 1, in a file of more than one document) and
 * ` item M` for an item of a list: a file that could not be read, a document that does not parse
 * (the parser's first line, with its line and column), an object readClusterObject refuses, and a
 * duplicate (same kind and key: the later one, by file order then document order, is kept, and the
 * problem names the one ignored and where the kept one is).
 *
 * @param files the directory's files
 * @returns the state, with a problem for everything left out
 */
export function readManifestTexts(files: readonly ManifestFile[]): ClusterState {
  const builder = new ClusterStateBuilder();
  const seen = new Map<string, string>();
  for (const file of [...files].sort((a, b) => compareNames(a.name, b.name))) {
    if ('error' in file) {
      builder.problem({ origin: file.name, message: file.error });
      continue;
    }
    const documents = parseAllDocuments(file.text);
    documents.forEach((document, index) => {
      const origin = documents.length > 1 ? `${file.name} document ${index + 1}` : file.name;
      const parseError = document.errors[0];
      if (parseError !== undefined) {
        builder.problem({ origin, message: firstLine(parseError.message) });
        return;
      }
      let raw: unknown;
      try {
        raw = document.toJS();
      } catch (error) {
        // An alias to no anchor, or too many aliases: the document is unusable as a whole.
        builder.problem({ origin, message: firstLine((error as Error).message) });
        return;
      }
      if (raw === null || raw === undefined) return;
      const items = flattenLists(raw);
      const isList = items.length !== 1 || items[0] !== raw;
      const kindHint = listItemKind(raw);
      items.forEach((item, itemIndex) => {
        const itemOrigin = isList ? `${origin} item ${itemIndex + 1}` : origin;
        const result = readClusterObject(item, undefined, kindHint);
        if (!result.ok) {
          builder.problem({ origin: itemOrigin, message: explain(result.message) });
          return;
        }
        if (result.object === undefined) return;
        const id = `${result.object.kind} '${result.object.key}'`;
        const earlier = seen.get(id);
        if (earlier !== undefined) {
          builder.problem({
            origin: earlier,
            message: `${id} ignored: duplicate of the one in '${itemOrigin}', which comes later`,
          });
        }
        seen.set(id, itemOrigin);
        builder.add(result.object);
      });
    });
  }
  return builder.build();
}

/**
 * Whether two reads of a directory found the same files with the same texts (and the same read
 * errors). Pure.
 *
 * @param a one read, in the order it was made
 * @param b another read, in the same order
 * @returns true when nothing changed between them
 */
export function sameManifestFiles(a: readonly ManifestFile[], b: readonly ManifestFile[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((file, index) => {
    const other = b[index]!;
    if (file.name !== other.name) return false;
    if ('error' in file) return 'error' in other && file.error === other.error;
    return 'text' in other && file.text === other.text;
  });
}

/** Code unit order: the same on every machine, whatever its locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstLine(message: string): string {
  // The yaml package's first line ends with a colon that introduces a code frame on the next lines.
  return (message.split('\n', 1)[0] ?? '').replace(/:$/, '');
}

/** The kind of the items of an `EgressNetworkPolicyList` and the like, which the API prints without one. */
function listItemKind(raw: unknown): ClusterKind | undefined {
  if (typeof raw !== 'object' || raw === null || !('kind' in raw) || typeof raw.kind !== 'string')
    return undefined;
  if (!raw.kind.endsWith('List')) return undefined;
  const kind = raw.kind.slice(0, -'List'.length);
  return (CLUSTER_KINDS as readonly string[]).includes(kind) ? (kind as ClusterKind) : undefined;
}

function explain(message: string): string {
  // readClusterObject would take a default namespace (`oc create -n`); a directory has none to give.
  return message.endsWith('without metadata.namespace')
    ? `${message}: a manifest in a directory source must name its namespace`
    : message;
}
