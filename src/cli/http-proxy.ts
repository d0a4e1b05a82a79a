import { ProxyStartError } from '../proxy/errors.js';
import { describePolicy, loadPolicy, type PolicyEnv } from '../proxy/load-policy.js';
import { PROXY_SETTINGS, parseProxySettings } from '../proxy/settings.js';
import { parseCommandArgs } from './args.js';
import { ExitError } from './exit-error.js';
import { readDestinationFile } from './read-config.js';

export const HTTP_PROXY_HELP = `Usage: egress-router http-proxy [--check]

The egress HTTP proxy (the http-proxy image's entrypoint; replaces ose-egress-http-proxy). Clients
use it through http_proxy / https_proxy: absolute-URI HTTP requests and CONNECT tunnels, each
allowed or denied by the policy in EGRESS_HTTP_PROXY_DESTINATION (first matching rule wins).

  --check   validate the policy, print the compiled rules in order and the worker count, and
            exit (1 on error)

Environment:
  EGRESS_HTTP_PROXY_DESTINATION       the policy, one rule per line (see docs/http-proxy.md)
  EGRESS_HTTP_PROXY_DESTINATION_FILE  or a file holding it (a mounted ConfigMap, followed live)
  EGRESS_HTTP_PROXY_DEBUG             non-empty: debug logs
${PROXY_SETTINGS.map((s) => `  ${s.variable.padEnd(39)} ${s.doc} (default ${s.default})`).join('\n')}
`;

/**
 * \`egress-router http-proxy [--check]\`.
 *
 * @param args the arguments after the command
 * @param env the process environment
 * @param stdout where help and --check output go
 * @throws ExitError with the first error (CONTRACT text) when the policy or a setting is invalid, or
 *   with the proxy's ProxyStartError message when a port cannot be listened on
 */
export async function runHttpProxy(
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const { values } = parseCommandArgs('http-proxy', args, { check: { type: 'boolean' } }, 0);
  if (values.help) {
    stdout.write(HTTP_PROXY_HELP);
    return;
  }
  const policyEnv: PolicyEnv = env;
  // A worker of the supervisor (EGRESS_HTTP_PROXY_WORKERS) starts with the supervisor's policy.
  const { connectToSupervisor, isWorkerProcess } = await import('../runtime/workers-link.js');
  const worker = isWorkerProcess() && !values.check ? await connectToSupervisor() : undefined;
  const file =
    worker && env.EGRESS_HTTP_PROXY_DESTINATION_FILE
      ? { text: worker.text }
      : readDestinationFile(env.EGRESS_HTTP_PROXY_DESTINATION_FILE);
  const loaded = loadPolicy(policyEnv, file);
  if (!loaded.ok) {
    if (values.check) {
      const origin = env.EGRESS_HTTP_PROXY_DESTINATION_FILE || 'EGRESS_HTTP_PROXY_DESTINATION';
      for (const error of loaded.errors) {
        process.stderr.write(
          `${error.line === undefined ? '' : `${origin}:${error.line}: `}${error.message}\n`,
        );
      }
    }
    // The old image stopped at the first error; its text is the last line on stderr.
    throw new ExitError(loaded.errors[0]!.message);
  }
  const settings = parseProxySettings(env);
  if (!settings.ok) throw new ExitError(settings.errors[0]!);
  const { availableCpus, workerCount, workerCountText } = await import('../runtime/cpus.js');
  const workers = workerCount('http-proxy', settings.value.workers, availableCpus());
  if (values.check) {
    const lines = [
      ...describePolicy(loaded.compiled.policy),
      workerCountText(workers, settings.value.workers),
    ];
    stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  const { serveHttpProxy } = await import('../proxy/serve.js');
  const { superviseHttpProxy } = await import('../runtime/workers-http-proxy.js');
  const { WorkersStartError } = await import('../runtime/workers-serve.js');
  try {
    if (!worker && workers > 1) await superviseHttpProxy(env, settings.value, loaded, workers);
    // A worker's admin port is the supervisor's.
    else
      await serveHttpProxy(
        env,
        worker ? { ...settings.value, adminPort: 0 } : settings.value,
        loaded,
        worker,
      );
  } catch (error) {
    if (error instanceof ProxyStartError || error instanceof WorkersStartError)
      throw new ExitError(error.message, 1, { cause: error });
    throw error;
  }
}
