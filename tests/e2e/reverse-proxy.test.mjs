// Cairn behind nginx from Debian's package, configured by docs/deploy/nginx-cairn.conf as an
// operator would copy it (only ports and paths substituted): nginx terminates TLS with a
// throwaway CA and speaks HTTP/2 to Chromium, Cairn serves plain HTTP/1.1 behind it. An upload
// on one device shows live on the other (the event stream is not buffered), every request of
// the pages went over h2, and Cairn counts each client by its own address, which nginx passes
// on in X-Forwarded-For (clients on 127.0.0.2 and 127.0.0.3 have separate sign-in budgets).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launchBrowser, startServer, until } from './harness.mjs';
import { liveUploadOverH2, makeCertificates, trustCaArgs } from './tls-fixture.mjs';

const NGINX = process.env.NGINX_BIN || 'nginx';
const SITE = new URL('../../docs/deploy/nginx-cairn.conf', import.meta.url).pathname;

let dir;
let certs;
let server;
let nginx;
let base;
let browser;

/** The operator's site file with this test's ports and paths, checked to have changed. */
function site(cairnPort, nginxPort) {
  let text = readFileSync(SITE, 'utf8');
  for (const [from, to] of [
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${cairnPort};`],
    ['listen 443 ssl http2;', `listen 127.0.0.1:${nginxPort} ssl http2;`],
    ['/etc/ssl/cairn/fullchain.pem', certs.chain],
    ['/etc/ssl/cairn/privkey.pem', certs.key],
  ]) {
    assert.ok(text.includes(from), `the site file no longer says ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-nginx-'));
  certs = makeCertificates(dir);
  server = await startServer({
    CAIRN_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
    CAIRN_TRUSTED_PROXIES: '127.0.0.1',
    CAIRN_SIGNIN_RATE_PER_IP: '3/3600',
  });
  const cairnPort = new URL(server.base).port;
  const port = await freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'cairn.conf'), site(cairnPort, port));
  // The main file Debian's /etc/nginx/nginx.conf would be, with every path in `dir`.
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  include ${join(dir, 'cairn.conf')};
}
`);
  nginx = spawn(NGINX, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((r) => nginx.once('exit', (code) => r(code)));
  await until(() => Promise.race([
    exited.then((code) => { throw new Error(`nginx exited with ${code}`); }),
    new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    }),
  ]), { timeout: 15_000, what: 'nginx to listen' });
  base = `https://127.0.0.1:${port}`;
  browser = await launchBrowser({ args: trustCaArgs(certs) });
});

after(async () => {
  await browser?.close();
  if (nginx && nginx.exitCode === null) {
    const done = new Promise((r) => nginx.once('exit', r));
    nginx.kill('SIGTERM');
    await done;
  }
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A sign-in with a wrong password from `localAddress`, through nginx: its status. */
function signInFrom(localAddress, username) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ username, password: 'not the password', device_name: 'probe' });
    const req = https.request(`${base}/api/v1/sessions`, {
      method: 'POST',
      ca: certs.ca,
      localAddress,
      // A client writing its own address in: nginx appends the real one, which Cairn reads.
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end(body);
  });
}

test('through nginx: an upload on one device shows live on another, over HTTP/2', { timeout: 120_000 }, async () => {
  await liveUploadOverH2(browser, base, 'nell', 'via-nginx.bin');
});

test('through nginx: Cairn counts each client by its own address', { timeout: 60_000 }, async () => {
  // CAIRN_SIGNIN_RATE_PER_IP=3/3600: three attempts from 127.0.0.2, then it is limited.
  for (let i = 0; i < 3; i++) assert.equal(await signInFrom('127.0.0.2', `ghost${i}`), 401);
  assert.equal(await signInFrom('127.0.0.2', 'ghost3'), 429);
  // Another client behind the same proxy still has its own budget.
  assert.equal(await signInFrom('127.0.0.3', 'ghost4'), 401);
});
