/**
 * The protocol fake of the API server (`_fake-apiserver.ts`) as a process of its own, for tests
 * whose agents run in a lab's network namespaces: started in one of them (`ip netns exec`), it
 * serves the objects of a YAML file on the address given, and the same API on a Unix socket for
 * the test process outside the namespaces; prints `listening <url>` once both are open. Stopped by
 * a signal.
 *
 * `node _fake-apiserver-process.js <address> <objects.yaml> <socket path>`
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { FAKE_RESOURCES, FakeApiServer, type FakeKind, type FakeObject } from './_fake-apiserver.js';

const [address, objectsFile, socketPath] = process.argv.slice(2);
if (!address || !objectsFile || !socketPath) throw new Error('usage: <address> <objects.yaml> <socket path>');
const fake = new FakeApiServer();
for (const document of parseAllDocuments(readFileSync(objectsFile, 'utf8'))) {
  const object = document.toJS() as (FakeObject & { kind?: string }) | null;
  if (!object) continue;
  if (!(String(object.kind) in FAKE_RESOURCES)) throw new Error(`not a kind served: ${object.kind}`);
  const { kind, apiVersion: _apiVersion, ...stored } = object;
  fake.put(kind as FakeKind, stored as FakeObject);
}
await fake.listen(undefined, address);
await fake.listenUnix(socketPath);
process.stdout.write(`listening ${fake.url}\n`);
const stop = () => void fake.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
