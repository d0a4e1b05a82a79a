import { ANNOUNCE_HELP, runAnnounce } from './announce.js';
import { DNS_PROXY_HELP, runDnsProxy } from './dns-proxy.js';
import { ExitError } from './exit-error.js';
import { HTTP_PROXY_HELP, runHttpProxy } from './http-proxy.js';
import { PLAN_HELP, runPlan } from './plan.js';
import { POD_WAIT_HELP, runPodWait } from './pod-wait.js';
import { ROUTER_HELP, runRouter } from './router.js';
import { runValidate, VALIDATE_HELP } from './validate.js';

export const MAIN_HELP = `Usage: egress-router [COMMAND] [--help]

Leave the cluster from a known source IP, under an explicit policy.

Commands:
  (none)      run the egress router in EGRESS_ROUTER_MODE (init, legacy, http-proxy, dns-proxy,
              unit-test); the image's entrypoint
  http-proxy  run the egress HTTP proxy (port 8080; EGRESS_HTTP_PROXY_DESTINATION)
  dns-proxy   run the egress DNS proxy (EGRESS_DNS_PROXY_DESTINATION)
  validate    check a destination list and report every problem with its line
  plan        print the network steps and the nftables ruleset set-up would apply
  announce    announce an interface's addresses again (gratuitous ARP, unsolicited NA)
  pod-wait    keep the pod alive until SIGTERM (the pause container)

Run 'egress-router COMMAND --help' for a command's options.

${ROUTER_HELP}`;

/** Every command's help, for \`help COMMAND\`. */
const HELP: Record<string, string> = {
  validate: VALIDATE_HELP,
  plan: PLAN_HELP,
  announce: ANNOUNCE_HELP,
  'pod-wait': POD_WAIT_HELP,
  'http-proxy': HTTP_PROXY_HELP,
  'dns-proxy': DNS_PROXY_HELP,
};

/**
 * The entry point: runs a command and maps errors to exit codes. Only this file exits the process.
 *
 * @param argv the arguments after the program name
 */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const env = process.env;
  try {
    switch (command) {
      case 'validate':
        runValidate(rest, env, process.stdout, process.stderr);
        break;
      case 'plan':
        runPlan(rest, env, process.stdout);
        break;
      case 'announce':
        await runAnnounce(rest, process.stdout);
        break;
      case 'http-proxy':
        await runHttpProxy(rest, env, process.stdout);
        break;
      case 'dns-proxy':
        await runDnsProxy(rest, env, process.stdout);
        break;
      case 'pod-wait':
        await runPodWait(rest, process.stdout);
        break;
      case 'help':
        process.stdout.write(HELP[rest[0] ?? ''] ?? MAIN_HELP);
        break;
      case '--help':
      case '-h':
        process.stdout.write(MAIN_HELP);
        break;
      case undefined:
        process.exitCode = await runRouter(env, process.stdout);
        break;
      default:
        throw new ExitError(
          command.startsWith('-')
            ? `egress-router: unknown option '${command}' (see 'egress-router --help')`
            : `egress-router: unknown command '${command}' (see 'egress-router --help')`,
        );
    }
  } catch (error) {
    if (error instanceof ExitError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`egress-router: internal error: ${(error as Error)?.stack ?? error}\n`);
    process.exitCode = 70;
  }
}

await main(process.argv.slice(2));
