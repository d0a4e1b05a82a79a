import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from './_cli-testing.js';
import { parseCommandArgs } from './args.js';
import { ExitError } from './exit-error.js';
import { PLAN_HELP } from './plan.js';
import { ROUTER_HELP } from './router.js';
import { VALIDATE_HELP } from './validate.js';

describe('egress-router --help', () => {
  const cases: [string[], string][] = [
    [['validate', '--help'], VALIDATE_HELP],
    [['validate', '-h'], VALIDATE_HELP],
    [['validate', 'some-file', '--help'], VALIDATE_HELP],
    [['help', 'validate'], VALIDATE_HELP],
    [['plan', '--help'], PLAN_HELP],
    [['plan', '--json', '-h'], PLAN_HELP],
    [['help', 'plan'], PLAN_HELP],
  ];
  for (const [args, help] of cases) {
    test(`egress-router ${args.join(' ')} prints the command's help, even with no environment`, () => {
      assert.deepEqual(runCli(args), { status: 0, stdout: help, stderr: '' });
    });
  }

  for (const args of [['--help'], ['-h'], ['help'], ['help', 'no-such-command']]) {
    test(`egress-router ${args.join(' ')} prints the main help with the router's environment`, () => {
      const run = runCli(args);
      assert.equal(run.status, 0);
      assert.equal(run.stderr, '');
      assert.ok(run.stdout.startsWith('Usage: egress-router [COMMAND] [--help]\n'), run.stdout);
      assert.ok(run.stdout.endsWith(ROUTER_HELP));
      for (const command of ['validate', 'plan']) assert.match(run.stdout, new RegExp(`^  ${command} `, 'm'));
    });
  }
});

describe('egress-router refuses unknown flags and arguments', () => {
  const cases: [string[], string][] = [
    [['validate', '--bogus'], "validate: unknown option '--bogus' (see 'egress-router validate --help')"],
    [['validate', '-x', 'file'], "validate: unknown option '-x' (see 'egress-router validate --help')"],
    [['validate', '--json'], "validate: unknown option '--json' (see 'egress-router validate --help')"],
    [['validate', 'a', 'b'], "validate: unexpected argument 'b' (see 'egress-router validate --help')"],
    [['plan', '--yaml'], "plan: unknown option '--yaml' (see 'egress-router plan --help')"],
    [['plan', '--json=yes'], "plan: option '--json' takes no value (see 'egress-router plan --help')"],
    [['plan', 'extra'], "plan: unexpected argument 'extra' (see 'egress-router plan --help')"],
    [['plan', '--help=yes'], "plan: option '--help' takes no value (see 'egress-router plan --help')"],
    [['--bogus'], "egress-router: unknown option '--bogus' (see 'egress-router --help')"],
    [['-x'], "egress-router: unknown option '-x' (see 'egress-router --help')"],
    [['bogus'], "egress-router: unknown command 'bogus' (see 'egress-router --help')"],
  ];
  for (const [args, message] of cases) {
    test(`egress-router ${args.join(' ')} is an error: exit 1, one line on stderr`, () => {
      // A valid environment: the flag alone is the problem.
      const env = { EGRESS_SOURCE: '1.2.3.4', EGRESS_GATEWAY: '1.2.3.1', EGRESS_DESTINATION: '10.1.2.3' };
      assert.deepEqual(runCli(args, env), { status: 1, stdout: '', stderr: `${message}\n` });
    });
  }
});

describe('parseCommandArgs()', () => {
  const options = { json: { type: 'boolean' } } as const;

  test('parseCommandArgs() returns the flags, help and positionals', () => {
    const parsed = parseCommandArgs('plan', ['--json', 'x'], options, 1);
    assert.equal(parsed.values.json, true);
    assert.equal(parsed.values.help, undefined);
    assert.deepEqual(parsed.positionals, ['x']);
    assert.equal(parseCommandArgs('plan', ['-h'], options, 0).values.help, true);
    assert.deepEqual(parseCommandArgs('plan', ['--', '--json'], options, 1).positionals, ['--json']);
  });

  const errors: [string[], string][] = [
    [['--nope'], "plan: unknown option '--nope' (see 'egress-router plan --help')"],
    [['--json=1'], "plan: option '--json' takes no value (see 'egress-router plan --help')"],
    [['a', 'b'], "plan: unexpected argument 'b' (see 'egress-router plan --help')"],
  ];
  for (const [args, message] of errors) {
    test(`parseCommandArgs() throws an ExitError for ${args.join(' ')}`, () => {
      assert.throws(
        () => parseCommandArgs('plan', args, options, 1),
        (error: unknown) => error instanceof ExitError && error.exitCode === 1 && error.message === message,
      );
    });
  }

  for (const args of [['--out'], ['-o']]) {
    test(`parseCommandArgs() says a string option needs a value: ${args.join(' ')}`, () => {
      assert.throws(
        () => parseCommandArgs('cmd', args, { out: { type: 'string', short: 'o' } }, 0),
        (error: unknown) =>
          error instanceof ExitError &&
          error.message === "cmd: option '--out' takes a value (see 'egress-router cmd --help')" &&
          error.cause instanceof Error,
      );
    });
  }
});
