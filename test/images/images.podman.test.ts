import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { HTTP_PROXY_NODE_FLAGS } from '../../src/runtime/node-flags.js';
import { Containers, ensureImages, IMAGES, podman, podmanSkipReason, REPO } from './_podman.js';

const skip = podmanSkipReason();

/** What `podman image inspect` says about an image, the parts we check. */
interface ImageInfo {
  Size: number;
  RootFS: { Layers: string[] };
  Config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Labels?: Record<string, string> };
}

/** The size goal of docs/images.md, in bytes as podman counts them (uncompressed). */
const ROUTER_SIZE_GOAL = 150_000_000;

const version = (JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { version: string }).version;

describe('the four images: contents, users, labels, sizes (podman)', { skip }, () => {
  const info = new Map<string, ImageInfo>();
  const containers = new Containers(`erc${process.pid}`);

  before(async () => {
    await ensureImages();
    for (const image of Object.values(IMAGES)) {
      const result = await podman(['image', 'inspect', image], { check: true });
      info.set(image, (JSON.parse(result.stdout) as ImageInfo[])[0]!);
    }
  });
  after(async () => {
    await containers.removeAll();
  });

  /** Runs a container of an image with no network, no privileges and a read-only root. */
  function runLocked(label: string, args: readonly string[]) {
    return podman([
      'run',
      '--rm',
      ...containers.identity(label),
      '--network',
      'none',
      '--cap-drop',
      'all',
      '--read-only',
      ...args,
    ]);
  }

  /** Runs a script with the image's node, as its own user, with no network and no privileges. */
  async function inImage(image: string, script: string): Promise<unknown> {
    const run = await runLocked('probe', [
      '--entrypoint',
      '/usr/local/bin/node',
      image,
      '--input-type=module',
      '-e',
      script,
    ]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout);
  }

  test('entrypoints: the one CLI with the image command; users: root for the router, 65532 for the rest', () => {
    const node = '/usr/local/bin/node';
    const cli = '/app/bin/egress-router';
    const expect = {
      [IMAGES.router]: { entrypoint: [node, cli], user: '' },
      [IMAGES.httpProxy]: {
        entrypoint: [node, ...HTTP_PROXY_NODE_FLAGS, cli, 'http-proxy'],
        user: '65532:65532',
      },
      [IMAGES.dnsProxy]: { entrypoint: [node, cli, 'dns-proxy'], user: '65532:65532' },
      [IMAGES.podWait]: { entrypoint: [node, cli, 'pod-wait'], user: '65532:65532' },
    };
    for (const [image, want] of Object.entries(expect)) {
      const config = info.get(image)!.Config;
      assert.deepEqual(config.Entrypoint, want.entrypoint, image);
      assert.equal(config.User ?? '', want.user, image);
      assert.equal(config.Cmd ?? null, null, `${image} has no CMD`);
    }
  });

  test('OCI labels: source, version (package.json), title and description', () => {
    for (const image of Object.values(IMAGES)) {
      const labels = info.get(image)!.Config.Labels ?? {};
      assert.match(labels['org.opencontainers.image.source'] ?? '', /^https:\/\//, image);
      assert.equal(labels['org.opencontainers.image.version'], version, image);
      assert.ok((labels['org.opencontainers.image.description'] ?? '').length > 20, image);
      assert.equal(`localhost/${labels['org.opencontainers.image.title']}:latest`, image);
    }
  });

  test('one shared base: the Node runtime layer and the program layer are the same in all four', () => {
    const layers = (image: string) => info.get(image)!.RootFS.Layers;
    const shared = layers(IMAGES.podWait);
    assert.equal(shared.length, 2);
    for (const image of [IMAGES.httpProxy, IMAGES.dnsProxy]) assert.deepEqual(layers(image), shared, image);
    // The router adds one layer: nft and the libraries it loads.
    assert.deepEqual(layers(IMAGES.router).slice(0, 2), shared);
    assert.equal(layers(IMAGES.router).length, 3);
  });

  test(`sizes: the router image is at most ${ROUTER_SIZE_GOAL / 1e6} MB, the others no larger`, () => {
    const router = info.get(IMAGES.router)!.Size;
    assert.ok(router <= ROUTER_SIZE_GOAL, `router image is ${(router / 1e6).toFixed(1)} MB`);
    for (const image of [IMAGES.httpProxy, IMAGES.dnsProxy, IMAGES.podWait]) {
      assert.ok(info.get(image)!.Size <= router, image);
    }
  });

  test('each image holds only what it needs: Node 24, no shell, no package manager, nft in the router only', async () => {
    const probe = `
      import { existsSync } from 'node:fs';
      const paths = ['/usr/sbin/nft', '/bin/sh', '/usr/bin/apt-get', '/usr/local/bin/npm', '/app/node_modules/typescript', '/app/dist/src/lab'];
      console.log(JSON.stringify({ node: process.versions.node.split('.')[0], uid: process.getuid(),
        present: paths.filter((path) => existsSync(path)) }));`;
    assert.deepEqual(await inImage(IMAGES.router, probe), { node: '24', uid: 0, present: ['/usr/sbin/nft'] });
    for (const image of [IMAGES.httpProxy, IMAGES.dnsProxy, IMAGES.podWait]) {
      assert.deepEqual(await inImage(image, probe), { node: '24', uid: 65532, present: [] }, image);
    }
  });

  test('nft runs in the router image (its libraries are all there)', async () => {
    const run = await runLocked('nft', ['--entrypoint', '/usr/sbin/nft', IMAGES.router, '--version']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^nftables v1\./);
  });

  test('every image answers --help through its entrypoint without network or privileges', async () => {
    const run = await runLocked('help', [IMAGES.router, '--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Usage: egress-router/);
    const podWait = await runLocked('help', [IMAGES.podWait, '--help']);
    assert.equal(podWait.code, 0, podWait.stderr);
    assert.match(podWait.stdout, /^Usage: egress-router pod-wait/);
  });

  test("the CLI is on every image's PATH by name, as `kubectl exec POD -- egress-router …` runs it", async () => {
    for (const image of Object.values(IMAGES)) {
      const run = await runLocked('path', ['--entrypoint', 'egress-router', image, 'validate', '--help']);
      assert.equal(run.code, 0, `${image}: ${run.stderr}`);
      assert.match(run.stdout, /^Usage: egress-router validate/, image);
    }
  });
});
