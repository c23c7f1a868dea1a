// Cairn serving HTTPS itself (`--tls-cert`/`--tls-key`, rustls) with HTTP/2: a throwaway CA
// made here with openssl signs a certificate for 127.0.0.1, and Chromium trusts that CA by its
// key (`--ignore-certificate-errors-spki-list`, which Chromium honours for any certificate of
// the chain the server sends). An upload on one device shows live on another, the service
// worker installs (it needs a trusted certificate), and the page's requests went over h2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, startServer } from './harness.mjs';
import { liveUploadOverH2, makeCertificates, trustCaArgs } from './tls-fixture.mjs';

let dir;
let certs;
let server;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-tls-'));
  certs = makeCertificates(dir);
  server = await startServer({ CAIRN_TLS_CERT: certs.chain, CAIRN_TLS_KEY: certs.key });
  browser = await launchBrowser({ args: trustCaArgs(certs) });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the server speaks HTTP/2 over TLS to a client that trusts only the throwaway CA', { timeout: 30_000 }, async () => {
  assert.match(server.base, /^https:\/\/127\.0\.0\.1:\d+$/);
  const session = http2.connect(server.base, { ca: certs.ca });
  try {
    const { headers, body, alpn } = await new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/healthz' });
      let body = '';
      let headers;
      req.on('response', (h) => { headers = h; });
      req.setEncoding('utf8');
      req.on('data', (d) => { body += d; });
      req.on('end', () => resolve({ headers, body, alpn: session.alpnProtocol }));
      req.on('error', reject);
      req.end();
    });
    assert.equal(alpn, 'h2');
    assert.equal(headers[':status'], 200);
    assert.deepEqual(JSON.parse(body), { status: 'ok' });
    // Serving TLS itself, the server asks browsers to keep to HTTPS.
    assert.equal(headers['strict-transport-security'], 'max-age=31536000');
  } finally {
    session.close();
  }
});

test('an upload on one device shows live on another, over HTTPS and HTTP/2', { timeout: 120_000 }, async () => {
  await liveUploadOverH2(browser, server.base, 'tess', 'over-h2.bin');
});
