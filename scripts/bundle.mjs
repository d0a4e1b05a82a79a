// Bundles the compiled CLI (dist/src/cli/main.js) into CommonJS files with esbuild: what
// bin/egress-router runs. Node's ESM loader pays per module (resolving, reading, compiling,
// linking, asynchronously); the router's init mode would load ~40 of ours and pino's. Loaded with
// require(), one file costs the least. dist/bundle/main.cjs holds the router and the small
// commands (evaluated only when they run: esbuild turns their import() into lazy initialisers);
// the two proxies, with prom-client, are files of their own (http-proxy.cjs, dns-proxy.cjs), so
// that the router does not even parse them (~5 ms), and so is the node agent (node.cjs, with the
// yaml parser and the Kubernetes client). `netlink` stays in node_modules: it loads a
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

/** In main.cjs, the proxies' and the node agent's commands are the bundles beside it. */
const proxiesApart = {
  name: 'proxies-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/(http-proxy|dns-proxy|node)\.js$/ }, (args) =>
      args.importer.endsWith('/cli/main.js') ? { path: args.path.replace(/\.js$/, '.cjs'), external: true } : undefined,
    );
  },
};

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['netlink'],
  // import.meta.url (the CLI's own path, createRequire) is the bundle's URL.
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
  legalComments: 'linked',
};
await Promise.all([
  build({
    ...common,
    entryPoints: [`${root}dist/src/cli/main.js`],
    outfile: `${outdir}/main.cjs`,
    plugins: [noPinoTransports, proxiesApart],
  }),
  ...['http-proxy', 'dns-proxy', 'node'].map((command) =>
    build({
      ...common,
      entryPoints: [`${root}dist/src/cli/${command}.js`],
      outfile: `${outdir}/${command}.cjs`,
      plugins: [noPinoTransports],
    }),
  ),
]);
