import { ExitError } from './exit-error.js';

export const HTTP_PROXY_HELP = `Usage: egress-router http-proxy [--check]
`;

/**
 * \`egress-router http-proxy\`: the http-proxy image's entrypoint.
 *
 * @param args the arguments after the command
 * @param env the process environment
 * @param stdout where help and --check output go
 */
export async function runHttpProxy(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  void args;
  void env;
  void stdout;
  throw new ExitError('egress-router http-proxy: not built yet');
}
