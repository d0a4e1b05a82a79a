import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Containers,
  ensureImages,
  eventually,
  IMAGES,
  podman,
  podmanSkipReason,
  SIDECAR_SECURITY,
} from './_podman.js';

const skip = podmanSkipReason();

// The pause container of an egress router pod: it must never hold up a pod's deletion.
describe('egress-pod-wait image (podman)', { skip }, () => {
  const containers = new Containers(`erw${process.pid}`);

  before(async () => {
    await ensureImages();
  });
  after(async () => {
    await containers.removeAll();
  });

  /** Starts pod-wait with no privileges and no network, and waits until it runs. */
  async function startPodWait(): Promise<string> {
    const started = await podman([
      'run',
      '--detach',
      ...containers.identity('pod-wait'),
      '--network',
      'none',
      ...SIDECAR_SECURITY,
      IMAGES.podWait,
    ]);
    assert.equal(started.code, 0, started.stderr);
    const name = containers.last('pod-wait');
    const running = await eventually(async () => {
      const state = await podman(['inspect', '--format', '{{.State.Running}}', name]);
      return state.stdout.trim() === 'true' ? true : undefined;
    }, 10_000);
    assert.ok(running, 'pod-wait is running');
    // Node needs a moment to install its signal handlers after the process starts.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return name;
  }

  test('podman stop -t 5: exits 0 within 1 s (SIGTERM), not after the 5 s grace period', async () => {
    const name = await startPodWait();
    const stopAt = Date.now();
    const stop = await podman(['stop', '--time', '5', name]);
    const took = Date.now() - stopAt;
    assert.equal(stop.code, 0, stop.stderr);
    const state = await podman(['inspect', '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}', name]);
    assert.equal(state.stdout.trim(), '0 false');
    assert.ok(took < 1000, `stopped in ${took} ms`);
  });

  test('SIGINT: exits 0 as well', async () => {
    const name = await startPodWait();
    const kill = await podman(['kill', '--signal', 'INT', name]);
    assert.equal(kill.code, 0, kill.stderr);
    const wait = await podman(['wait', name], { timeoutMs: 5000 });
    assert.equal(wait.stdout.trim(), '0');
  });
});
