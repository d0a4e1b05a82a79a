import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { routerEnv, validRouterEnv } from '../destination-parser/_arbitraries.js';
import { parseRouterConfig, type RouterEnv } from '../destination-parser/config.js';
import { parseSource } from '../destination-parser/source.js';
import { Collector, runCli } from './_cli-testing.js';
import { ExitError } from './exit-error.js';
import { runPlan } from './plan.js';
import { runRouter } from './router.js';
import { runValidate } from './validate.js';

/**
 * validate, unit-test mode and plan read the same environment through different code paths; they
 * must agree on what is valid, and the runtime paths must report the same first problem.
 */

type Verdict = { ok: true } | { ok: false; message: string; stderr: string };

/** Runs a command's function; an ExitError is a rejection, any other exception a bug. */
async function verdict(run: (stdout: Collector, stderr: Collector) => unknown): Promise<Verdict> {
  const stdout = new Collector();
  const stderr = new Collector();
  try {
    await run(stdout, stderr);
    return { ok: true };
  } catch (error) {
    if (!(error instanceof ExitError)) throw error;
    assert.equal(error.exitCode, 1);
    assert.equal(stdout.text, '', 'nothing on stdout on an error');
    return { ok: false, message: error.message, stderr: stderr.text };
  }
}

/** The first problem validate printed, without its `<origin>:<line>: ` prefix. */
function firstProblem(stderr: string, origin: string): string {
  const first = stderr.split('\n')[0] ?? '';
  const prefix = new RegExp(`^${origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[0-9]+: `);
  return first.replace(prefix, '');
}

const unitTestEnv = routerEnv.map((env) => ({ ...env, EGRESS_ROUTER_MODE: 'unit-test' }));

describe('validate, unit-test mode and plan agree', () => {
  let scratch = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ert-agree-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  async function checkAgreement(env: RouterEnv): Promise<boolean> {
    const validate = await verdict((out, err) => runValidate([], env, out, err));
    const unitTest = await verdict((out) => runRouter(env, out, 'unused: unit-test mode never announces'));
    const plan = await verdict((out) => runPlan([], env, out));
    const planJson = await verdict((out) => runPlan(['--json'], env, out));
    assert.equal(unitTest.ok, validate.ok, 'unit-test mode and validate');
    assert.equal(plan.ok, validate.ok, 'plan and validate');
    assert.equal(planJson.ok, validate.ok, 'plan --json and validate');
    if (!unitTest.ok && !plan.ok && !planJson.ok && !validate.ok) {
      assert.equal(plan.message, unitTest.message);
      assert.equal(planJson.message, unitTest.message);
      const origin = env.EGRESS_DESTINATION_FILE || 'EGRESS_DESTINATION';
      assert.equal(firstProblem(validate.stderr, origin), unitTest.message);
    }
    return validate.ok;
  }

  test('validate, unit-test mode and plan accept and reject the same inline lists', async () => {
    await fc.assert(
      fc.asyncProperty(unitTestEnv, async (env) => {
        await checkAgreement(env);
      }),
      { numRuns: 400 },
    );
  });

  test('validate, unit-test mode and plan read EGRESS_DESTINATION_FILE as they read EGRESS_DESTINATION', async () => {
    const file = join(scratch, 'list.txt');
    await fc.assert(
      fc.asyncProperty(unitTestEnv, async ({ EGRESS_DESTINATION, ...env }) => {
        writeFileSync(file, EGRESS_DESTINATION ?? '');
        const inline = parseRouterConfig({ ...env, EGRESS_DESTINATION }).ok;
        assert.equal(await checkAgreement({ ...env, EGRESS_DESTINATION_FILE: file }), inline);
      }),
      { numRuns: 200 },
    );
  });

  test('validate FILE accepts a list exactly when the environment with it is valid', async () => {
    const file = join(scratch, 'list.txt');
    await fc.assert(
      fc.asyncProperty(unitTestEnv, async ({ EGRESS_DESTINATION, ...env }) => {
        // validate FILE checks EGRESS_SOURCE and the list, not the gateway: skip a bad gateway alone.
        const network = parseRouterConfig({ ...env, EGRESS_ROUTER_MODE: 'http-proxy' });
        fc.pre(network.ok || parseSource(env.EGRESS_SOURCE) === undefined);
        writeFileSync(file, EGRESS_DESTINATION ?? '');
        const validateFile = await verdict((out, err) =>
          runValidate(
            [file],
            { EGRESS_SOURCE: env.EGRESS_SOURCE, EGRESS_ROUTER_MODE: env.EGRESS_ROUTER_MODE },
            out,
            err,
          ),
        );
        assert.equal(validateFile.ok, parseRouterConfig({ ...env, EGRESS_DESTINATION }).ok);
      }),
      { numRuns: 200 },
    );
  });

  test('validate and plan agree in every mode', async () => {
    await fc.assert(
      fc.asyncProperty(routerEnv, async (env) => {
        const validate = await verdict((out, err) => runValidate([], env, out, err));
        const plan = await verdict((out) => runPlan(['--json'], env, out));
        assert.equal(plan.ok, validate.ok);
      }),
      { numRuns: 400 },
    );
  });

  test('the CLI agrees with itself: validate, unit-test mode and plan exit alike', () => {
    const noNul = (env: RouterEnv) => !Object.values(env).some((value) => value?.includes('\0'));
    const samples: [RouterEnv, number | undefined][] = [
      ...fc.sample(validRouterEnv, { numRuns: 2, seed: 7 }).map((env): [RouterEnv, number] => [env, 0]),
      ...fc
        .sample(unitTestEnv.filter(noNul), { numRuns: 4, seed: 7 })
        .map((env): [RouterEnv, undefined] => [env, undefined]),
      [
        {
          EGRESS_SOURCE: '1.2.3.4',
          EGRESS_GATEWAY: '1.2.3.1',
          EGRESS_DESTINATION: '10.1.2.3\n80 tcp 10.4.5.6',
        },
        1,
      ],
    ];
    for (const [sample, expected] of samples) {
      const env = Object.fromEntries(
        Object.entries({ ...sample, EGRESS_ROUTER_MODE: 'unit-test' }).filter(
          (entry): entry is [string, string] => entry[1] !== undefined,
        ),
      );
      const statuses = [runCli(['validate'], env), runCli([], env), runCli(['plan'], env)].map(
        (run) => run.status,
      );
      const status = expected ?? statuses[0];
      assert.deepEqual(statuses, [status, status, status], `exit statuses for ${JSON.stringify(env)}`);
    }
  });
});
