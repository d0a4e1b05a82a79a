import { fileURLToPath } from 'node:url';
import { ExitError, isExitError } from './exit-error.js';
import { ROUTER_HELP, runRouter } from './router.js';

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
  node        the node agent (DaemonSet): the egress firewall (EgressNetworkPolicy); 'node status'

Run 'egress-router COMMAND --help' for a command's options.

${ROUTER_HELP}`;

/**
 * The commands, each loaded only when it runs, so that start-up (the router's init mode above all)
 * does not pay for the modules of the others.
 */
const COMMANDS: Record<string, () => Promise<{ run: (args: string[]) => Promise<void>; help: string }>> = {
  validate: async () => {
    const m = await import('./validate.js');
    return {
      run: async (args) => m.runValidate(args, process.env, process.stdout, process.stderr),
      help: m.VALIDATE_HELP,
    };
  },
  plan: async () => {
    const m = await import('./plan.js');
    return { run: async (args) => m.runPlan(args, process.env, process.stdout), help: m.PLAN_HELP };
  },
  announce: async () => {
    const m = await import('./announce.js');
    return { run: (args) => m.runAnnounce(args, process.stdout), help: m.ANNOUNCE_HELP };
  },
  'http-proxy': async () => {
    const m = await import('./http-proxy.js');
    return { run: (args) => m.runHttpProxy(args, process.env, process.stdout), help: m.HTTP_PROXY_HELP };
  },
  'dns-proxy': async () => {
    const m = await import('./dns-proxy.js');
    return { run: (args) => m.runDnsProxy(args, process.env, process.stdout), help: m.DNS_PROXY_HELP };
  },
  node: async () => {
    const m = await import('./node.js');
    return { run: (args) => m.runNode(args, process.env, process.stdout), help: m.NODE_HELP };
  },
  'pod-wait': async () => {
    const m = await import('./pod-wait.js');
    return { run: (args) => m.runPodWait(args, process.stdout), help: m.POD_WAIT_HELP };
  },
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
    const load = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (load) {
      await (await load()).run(rest);
      return;
    }
    switch (command) {
      case 'help': {
        const topic = Object.hasOwn(COMMANDS, rest[0] ?? '') ? COMMANDS[rest[0]!] : undefined;
        process.stdout.write(topic ? (await topic()).help : MAIN_HELP);
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(MAIN_HELP);
        break;
      case undefined:
        process.exitCode = await runRouter(env, process.stdout, fileURLToPath(import.meta.url));
        break;
      default:
        throw new ExitError(
          command.startsWith('-')
            ? `egress-router: unknown option '${command}' (see 'egress-router --help')`
            : `egress-router: unknown command '${command}' (see 'egress-router --help')`,
        );
    }
  } catch (error) {
    if (isExitError(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`egress-router: internal error: ${(error as Error)?.stack ?? error}\n`);
    process.exitCode = 70;
  }
}

void main(process.argv.slice(2));
