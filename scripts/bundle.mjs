// Bundles the compiled CLI (dist/src/cli/main.js) into one CommonJS file with esbuild,
// dist/bundle/main.cjs: what bin/egress-router runs. Node's ESM loader pays per module (resolving,
// reading, compiling, linking, asynchronously); the router's init mode would load ~40 of ours and
// pino's. Loaded with require(), one file costs the least: ~60 ms less than the separate modules.
// Commands are still evaluated only when they run (esbuild turns their import() into lazy
// initialisers). `netlink` stays in node_modules: it loads a native addon from its own directory.
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
  entryPoints: [`${root}dist/src/cli/main.js`],
  outfile: `${outdir}/main.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['netlink'],
  // import.meta.url (the CLI's own path, createRequire) is the bundle's URL.
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [noPinoTransports],
  logLevel: 'warning',
  legalComments: 'linked',
});
