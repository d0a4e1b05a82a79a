import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDirSource } from './dir-source.js';
import type { ClusterState, ObjectSource } from './types.js';

/** How long a change may take to be followed: far above a poll, bounded so a failure is quick. */
const WAIT_MS = 5000;

let base: string;
let count = 0;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'dir-source-test-'));
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = join(base, `case-${++count}`);
  await mkdir(dir);
  return dir;
}

function namespace(name: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
}

function names(state: ClusterState): string[] {
  return [...state.namespaces.keys()].sort();
}

/** A started source and what it told. */
interface Followed {
  readonly source: ObjectSource;
  readonly states: ClusterState[];
  readonly errors: Error[];
  /** Waits until the last state has these namespaces (sorted), or fails after WAIT_MS. */
  until(expected: string[]): Promise<ClusterState>;
}

async function follow(dir: string, options?: { pollMs?: number; debounceMs?: number }): Promise<Followed> {
  const source = createDirSource(dir, options);
  const states: ClusterState[] = [];
  const errors: Error[] = [];
  await source.start(
    (state) => states.push(state),
    (error) => errors.push(error),
  );
  const until = async (expected: string[]): Promise<ClusterState> => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const last = states.at(-1);
      if (last !== undefined && names(last).join() === expected.join()) return last;
      if (Date.now() > deadline) {
        assert.fail(
          `waited ${WAIT_MS} ms for ${JSON.stringify(expected)}, last state: ${JSON.stringify(last && names(last))}`,
        );
      }
      await sleep(25);
    }
  };
  return { source, states, errors, until };
}

describe('createDirSource()', () => {
  test('start() delivers the first state: files in the directory and subdirectories, no hidden or other names', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'a.yaml'), namespace('a'));
    await writeFile(
      join(dir, 'b.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } }),
    );
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'sub', 'deeper', 'c.yml'), namespace('c'));
    await writeFile(join(dir, '.hidden.yaml'), namespace('hidden'));
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'd.yaml'), namespace('in-hidden-dir'));
    await writeFile(join(dir, 'README.md'), namespace('readme'));
    await writeFile(join(dir, 'broken.yaml'), 'kind: [\n');
    const followed = await follow(dir);
    try {
      assert.equal(followed.source.description, `dir:${dir}`);
      assert.equal(followed.states.length, 1);
      const state = followed.states[0]!;
      assert.deepEqual(names(state), ['a', 'b', 'c']);
      assert.deepEqual(
        state.problems.map((problem) => problem.origin),
        ['broken.yaml'],
      );
    } finally {
      await followed.source.close();
    }
  });

  test('follows a new file, an edit, a removal and a rename over a name', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'a.yaml'), namespace('a'));
    const followed = await follow(dir);
    try {
      await followed.until(['a']);
      await writeFile(join(dir, 'b.yaml'), namespace('b'));
      await followed.until(['a', 'b']);
      await writeFile(join(dir, 'b.yaml'), namespace('b-edited'));
      await followed.until(['a', 'b-edited']);
      await rm(join(dir, 'a.yaml'));
      await followed.until(['b-edited']);
      // An editor's save: a temporary file renamed onto the name.
      await writeFile(join(dir, '.b.yaml.swp'), namespace('b-renamed'));
      await rename(join(dir, '.b.yaml.swp'), join(dir, 'b.yaml'));
      await followed.until(['b-renamed']);
      assert.deepEqual(followed.errors, []);
    } finally {
      await followed.source.close();
    }
  });

  test("follows a kubelet-style ConfigMap update (an atomic swap of '..data')", async () => {
    const dir = await freshDir();
    await mkdir(join(dir, '..2026_a'));
    await writeFile(join(dir, '..2026_a', 'objects.yaml'), namespace('first'));
    await symlink('..2026_a', join(dir, '..data'));
    await symlink('..data/objects.yaml', join(dir, 'objects.yaml'));
    const followed = await follow(dir);
    try {
      await followed.until(['first']);
      await mkdir(join(dir, '..2026_b'));
      await writeFile(
        join(dir, '..2026_b', 'objects.yaml'),
        `${namespace('second')}---\n${namespace('third')}`,
      );
      await symlink('..2026_b', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await rm(join(dir, '..2026_a'), { recursive: true });
      const state = await followed.until(['second', 'third']);
      assert.deepEqual(state.problems, []);
    } finally {
      await followed.source.close();
    }
  });

  test('a watcher sees a change in a subdirectory without waiting for a poll', async () => {
    const dir = await freshDir();
    await mkdir(join(dir, 'sub'));
    const followed = await follow(dir, { pollMs: 600_000 });
    try {
      await followed.until([]);
      await writeFile(join(dir, 'sub', 'x.yaml'), namespace('x'));
      await followed.until(['x']);
      // A directory moved in: the read after the event finds it with its file, and watches it from then on.
      const outside = await freshDir();
      await writeFile(join(outside, 'y.yaml'), namespace('y'));
      await rename(outside, join(dir, 'sub', 'new'));
      await followed.until(['x', 'y']);
      await writeFile(join(dir, 'sub', 'new', 'y.yaml'), namespace('z'));
      await followed.until(['x', 'z']);
    } finally {
      await followed.source.close();
    }
  });

  test('follows a link to a directory and is not caught in a link loop', async () => {
    const dir = await freshDir();
    const elsewhere = await freshDir();
    await writeFile(join(elsewhere, 'e.yaml'), namespace('e'));
    await symlink(elsewhere, join(dir, 'linked'));
    await symlink('.', join(dir, 'loop'));
    const followed = await follow(dir);
    try {
      assert.deepEqual(names(followed.states[0]!), ['e']);
      assert.deepEqual(followed.states[0]!.problems, []);
    } finally {
      await followed.source.close();
    }
  });

  test('start() rejects with one line when the directory is missing or not a directory', async () => {
    const missing = join(base, 'missing');
    await assert.rejects(
      createDirSource(missing).start(() => assert.fail('no state')),
      {
        message: `dir source: cannot read '${missing}': no such file or directory`,
      },
    );
    const file = join(await freshDir(), 'file.yaml');
    await writeFile(file, namespace('f'));
    await assert.rejects(
      createDirSource(file).start(() => assert.fail('no state')),
      {
        message: `dir source: cannot read '${file}': not a directory`,
      },
    );
  });

  test('a directory gone later is told once to onError, keeps the last state, and is read again when back', async () => {
    const dir = await freshDir();
    await writeFile(join(dir, 'a.yaml'), namespace('a'));
    const followed = await follow(dir, { pollMs: 50, debounceMs: 10 });
    try {
      // Gone at once (a recursive removal would first show an empty directory, which is a state).
      await rename(dir, `${dir}-gone`);
      await rm(`${dir}-gone`, { recursive: true });
      const deadline = Date.now() + WAIT_MS;
      while (followed.errors.length === 0 && Date.now() < deadline) await sleep(25);
      assert.deepEqual(
        followed.errors.map((error) => error.message),
        [`dir source: cannot read '${dir}': no such file or directory`],
      );
      await sleep(300); // several polls more: the same error is not told again
      assert.equal(followed.errors.length, 1);
      assert.equal(followed.states.length, 1);
      await mkdir(dir);
      await writeFile(join(dir, 'b.yaml'), namespace('b'));
      await followed.until(['b']);
    } finally {
      await followed.source.close();
    }
  });

  test('close() stops delivering, and is idempotent', async () => {
    const dir = await freshDir();
    const followed = await follow(dir, { pollMs: 50, debounceMs: 10 });
    await followed.source.close();
    await followed.source.close();
    await writeFile(join(dir, 'late.yaml'), namespace('late'));
    await sleep(400);
    assert.equal(followed.states.length, 1);
    assert.deepEqual(followed.errors, []);
  });

  test('an unclosed source does not keep the process alive', async () => {
    const dir = await freshDir();
    const module = new URL('./dir-source.js', import.meta.url).href;
    const script = `import { createDirSource } from ${JSON.stringify(module)};
await createDirSource(${JSON.stringify(dir)}, { pollMs: 50 }).start(() => {});
console.log('started');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    const [code, signal] = (await new Promise((resolve) => child.on('exit', (...args) => resolve(args)))) as [
      number | null,
      string | null,
    ];
    clearTimeout(timer);
    assert.deepEqual({ code, signal, output }, { code: 0, signal: null, output: 'started\n' });
  });

  test('refuses an option that is not a positive number', () => {
    assert.throws(() => createDirSource('.', { pollMs: 0 }), {
      name: 'RangeError',
      message: "dir source: pollMs must be a positive number of milliseconds: '0'",
    });
  });
});
