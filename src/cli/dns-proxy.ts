import { ExitError } from './exit-error.js';

export const DNS_PROXY_HELP = `Usage: egress-router dns-proxy [--check]
`;

/**
 * \`egress-router dns-proxy\`: the dns-proxy image's entrypoint.
 *
 * @param args the arguments after the command
 * @param env the process environment
 * @param stdout where help and --check output go
 */
export async function runDnsProxy(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  void args;
  void env;
  void stdout;
  throw new ExitError('egress-router dns-proxy: not built yet');
}
