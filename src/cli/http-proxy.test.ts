import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { ProxyStartError } from '../proxy/errors.js';
import { availableCpus } from '../runtime/cpus.js';
import { lastLine, runCli } from './_cli-testing.js';
import { isExitError } from './exit-error.js';
import { runHttpProxy } from './http-proxy.js';

let busy: Server;
let port: number;

before(async () => {
  // A port already taken on every address, as the proxy listens (both families).
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen({ port: 0, host: '::', ipv6Only: false }, resolve));
  port = (busy.address() as { port: number }).port;
});
after(() => new Promise<void>((resolve) => busy.close(() => resolve())));

test('runHttpProxy() maps the proxy start error to an ExitError with the same line', async () => {
  const env = {
    EGRESS_HTTP_PROXY_DESTINATION: '*',
    EGRESS_HTTP_PROXY_PORT: String(port),
    EGRESS_HTTP_PROXY_ADMIN_PORT: '0',
  };
  await assert.rejects(runHttpProxy([], env, process.stdout), (error: unknown) => {
    assert.ok(isExitError(error));
    assert.equal(error.message, `http-proxy: cannot listen on port ${port}: EADDRINUSE`);
    assert.equal(error.exitCode, 1);
    assert.ok(error.cause instanceof ProxyStartError);
    assert.equal(error.cause.code, 'LISTEN_FAILED');
    return true;
  });
});

test('http-proxy --check prints the rules, then how many workers the proxy would run', () => {
  const policy = { EGRESS_HTTP_PROXY_DESTINATION: '*.example.com\n' };
  const byDefault = runCli(['http-proxy', '--check'], policy);
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.match(byDefault.stdout, /^ {4}1 {2}allow {2}domain {3}\*\.example\.com {2}\(line 1\)\n/);
  assert.equal(lastLine(byDefault.stdout), `workers ${availableCpus()} (one per CPU)`);
  const set = runCli(['http-proxy', '--check'], { ...policy, EGRESS_HTTP_PROXY_WORKERS: '3' });
  assert.equal(lastLine(set.stdout), 'workers 3');
});
