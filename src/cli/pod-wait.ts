import { parseCommandArgs } from './args.js';

export const POD_WAIT_HELP = `Usage: egress-router pod-wait

The pause container of an egress router pod (the old ose-pod image): keeps the pod alive after the
init container has set it up, doing nothing. Exits 0 at once on SIGTERM or SIGINT.
`;

/**
 * \`egress-router pod-wait\`: waits until SIGTERM or SIGINT, then returns.
 *
 * @param args the arguments after \`pod-wait\`
 * @param stdout where help goes
 */
export async function runPodWait(args: string[], stdout: NodeJS.WritableStream): Promise<void> {
  const { values } = parseCommandArgs('pod-wait', args, {}, 0);
  if (values.help) {
    stdout.write(POD_WAIT_HELP);
    return;
  }
  await new Promise<void>((resolve) => {
    // A timer keeps the event loop alive; signals end the wait.
    const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
    const stop = () => {
      clearInterval(keepAlive);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
