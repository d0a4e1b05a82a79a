// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/ with esbuild: what
// bin/egress-router runs. Node's ESM loader pays per module (resolving, reading, compiling); the
// router's init mode loads ~40 of ours and pino's, which cost ~50 ms of its start-up. Each command
// stays a chunk of its own, loaded only when it runs. `netlink` stays in node_modules: it loads a
// native addon from its own directory.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * pino's transports run in worker threads through `thread-stream`, which pino loads at start-up.
 * We never use a transport (pino writes JSON lines to stdout with sonic-boom), so the bundle gets a
 * stand-in that fails loudly if one is ever asked for, and start-up skips thread-stream's modules.
 */
const noPinoTransports = {
  name: 'no-pino-transports',
  setup(b) {
    b.onResolve({ filter: /^thread-stream$/ }, () => ({ path: 'thread-stream', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents:
        "module.exports = class ThreadStream { constructor() { throw new Error('egress-router: pino transports are not bundled'); } };",
      loader: 'js',
    }));
  },
};

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
  plugins: [noPinoTransports],
});
