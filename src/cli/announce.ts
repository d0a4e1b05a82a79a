import { parseCommandArgs } from './args.js';
import { ExitError } from './exit-error.js';

export const ANNOUNCE_HELP = `Usage: egress-router announce [--delay MS] INTERFACE

Makes the kernel announce every address of INTERFACE again: a gratuitous ARP for each IPv4
address and an unsolicited neighbour advertisement for each IPv6 address, so that neighbours (the
gateway) forget a previous owner of the address. Set-up does this by itself, at once and about 2 s
later; this command is for doing it by hand, or later.

  --delay MS   wait MS milliseconds first
`;

/**
 * \`egress-router announce [--delay MS] INTERFACE\`.
 *
 * @param args the arguments after \`announce\`
 * @param stdout where help goes
 * @throws ExitError on bad arguments or when the interface does not exist
 */
export async function runAnnounce(args: string[], stdout: NodeJS.WritableStream): Promise<void> {
  const { values, positionals } = parseCommandArgs('announce', args, { delay: { type: 'string' } }, 1);
  if (values.help) {
    stdout.write(ANNOUNCE_HELP);
    return;
  }
  const ifname = positionals[0];
  if (!ifname) throw new ExitError(`announce: INTERFACE missing (see 'announce --help')`);
  const delay = values.delay === undefined ? 0 : Number(values.delay);
  if (!Number.isInteger(delay) || delay < 0 || delay > 3_600_000) {
    throw new ExitError(
      `announce: --delay '${values.delay}' is not a number of milliseconds from 0 to 3600000`,
    );
  }
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const { kernelEffects } = await import('../router/kernel.js');
  const effects = kernelEffects();
  try {
    await effects.announce(await effects.linkIndex(ifname));
  } catch (error) {
    throw new ExitError(`announce: ${(error as Error).message}`, 1, { cause: error });
  } finally {
    effects.close();
  }
}
