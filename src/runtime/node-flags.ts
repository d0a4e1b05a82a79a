/**
 * The Node flags the HTTP proxy image's entrypoint passes before the CLI (Containerfile): a 2 MiB
 * young generation instead of V8's default of up to 16 MiB. With thousands of open tunnels the
 * proxy otherwise keeps ~20 MB more resident (docs/http-proxy.md, "Memory"). The podman tests check
 * the entrypoint against this list; the benchmark starts the proxy with it, as the image does.
 * The DNS proxy runs with V8's defaults: a small young generation is collected more often, and it
 * cost the DNS proxy a quarter of its throughput and connection rate (bench/dns-proxy.md).
 */
export const HTTP_PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
