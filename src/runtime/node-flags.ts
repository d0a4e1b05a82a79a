/**
 * The Node flags the proxy images' entrypoints pass before the CLI (Containerfile): a 1 MiB young
 * generation instead of V8's default of up to 16 MiB. A proxy with thousands of open connections
 * otherwise keeps ~25 MB more resident (docs/http-proxy.md, "Memory"). The podman tests check the
 * entrypoints against this list; the benchmarks start the proxies with it, as the images do.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
