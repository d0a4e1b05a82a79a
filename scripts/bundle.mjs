// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/ with esbuild: what
// bin/egress-router runs. Node's ESM loader pays per module (resolving, reading, compiling); the
// router's init mode loads ~40 of ours and pino's, which cost ~50 ms of its start-up. Each command
// stays a chunk of its own, loaded only when it runs. `netlink` stays in node_modules: it loads a
// native addon from its own directory.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: `${root}dist/src/cli/main.js` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['netlink'],
  chunkNames: 'chunks/[name]-[hash]',
  // The CommonJS packages in the bundle (pino, prom-client) call require() for Node's modules.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'linked',
});
