import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from './_cli-testing.js';

// `egress-router node --config FILE`: a file the agent cannot use is one line on stderr and exit
// status 1, before anything is read from the cluster or applied.
describe('egress-router node --config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-router-node-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const known =
    'source, kubeconfig, leaseNamespace, nodeName, clusterNetwork, serviceNetwork, adminPort, statusFile, verifyInterval';
  const cases: [string, () => string, (path: string) => string][] = [
    ['a missing file', () => join(dir, 'absent.yaml'), (p) => `node: cannot read --config '${p}': ENOENT`],
    [
      'text that is not YAML',
      () => file('bad.yaml', 'source: [directory\n'),
      (p) => `node: --config '${p}' is not YAML: `,
    ],
    ['a list', () => file('list.yaml', '- source\n'), (p) => `node: --config '${p}' is not a mapping`],
    ['a scalar', () => file('scalar.yaml', 'directory\n'), (p) => `node: --config '${p}' is not a mapping`],
    [
      'an unknown key',
      () => file('unknown.yaml', 'nodeName: n1\nsources: directory\n'),
      (p) => `node: --config '${p}': unknown key 'sources' (known: ${known})`,
    ],
  ];
  for (const [what, make, message] of cases) {
    test(`${what} is refused with one line`, () => {
      const path = make();
      const run = runCli(['node', '--config', path], { NODE_NAME: 'n1' });
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.split('\n').length, 2, `one line: ${run.stderr}`);
      assert.ok(run.stderr.startsWith(message(path)), run.stderr);
    });
  }

  test("a value the options refuse is the options' error, as from a flag", () => {
    const path = file('port.yaml', 'nodeName: n1\nadminPort: seventy\n');
    const fromFile = runCli(['node', '--config', path], {});
    const fromFlag = runCli(['node', '--node-name', 'n1', '--admin-port', 'seventy'], {});
    assert.equal(fromFile.status, 1);
    assert.equal(fromFile.stdout, '');
    assert.equal(fromFile.stderr, fromFlag.stderr);
    assert.equal(fromFile.stderr.split('\n').length, 2, fromFile.stderr);
  });

  test('a flag wins over the file', () => {
    const path = file('flag-wins.yaml', 'nodeName: n1\nadminPort: seventy\n');
    const run = runCli(['node', '--config', path, '--admin-port', 'eighty'], {});
    assert.equal(run.status, 1);
    assert.match(run.stderr, /eighty/);
    assert.doesNotMatch(run.stderr, /seventy/);
  });
});
