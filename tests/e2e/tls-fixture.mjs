// Throwaway TLS for the browser tests: a CA and a certificate for 127.0.0.1 made with openssl,
// Chromium told to trust that CA by its key, and a check that a page spoke HTTP/2 only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { register, signIn, swReady } from './harness.mjs';

/** A CA and a leaf for 127.0.0.1 signed by it, valid for a day; files in `dir`. */
export function makeCertificates(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1',
    '-subj', '/CN=Cairn throwaway test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'leaf.ext'), [
    'subjectAltName=IP:127.0.0.1',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
  ].join('\n'));
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'leaf.pem', '-days', '1', '-extfile', 'leaf.ext');
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  writeFileSync(join(dir, 'chain.pem'), readFileSync(join(dir, 'leaf.pem'), 'utf8') + ca);
  const spki = new X509Certificate(ca).publicKey.export({ type: 'spki', format: 'der' });
  return {
    ca,
    chain: join(dir, 'chain.pem'),
    key: join(dir, 'leaf.key'),
    caSpkiHash: createHash('sha256').update(spki).digest('base64'),
  };
}

/** Chromium's flags to trust `certs`' CA: by its key, which Chromium honours for any
 * certificate of the chain the server sends (the chain file holds the CA). */
export function trustCaArgs(certs) {
  return [`--ignore-certificate-errors-spki-list=${certs.caSpkiHash}`];
}

/** Every request `page` made to the network went over h2 (answers the service worker gave
 * from its cache have no protocol), and some of them were API calls. */
export async function assertH2Only(page) {
  const seen = await page.evaluate(() => [
    ...performance.getEntriesByType('navigation'),
    ...performance.getEntriesByType('resource'),
  ].map((e) => [new URL(e.name).pathname, e.nextHopProtocol]));
  const api = seen.filter(([path, proto]) => path.startsWith('/api/') && proto);
  assert.ok(api.length > 0, `no API request seen: ${JSON.stringify(seen)}`);
  const other = seen.filter(([, proto]) => proto && proto !== 'h2');
  assert.deepEqual(other, [], 'requests over something else than h2');
}

/** Two devices of a new account `user` at `base`: A registers (and waits for its service
 * worker, which needs a trusted certificate), B signs in and follows live; a 3 MiB upload on
 * A shows on B within a second; both pages spoke h2 only and threw nothing. */
export async function liveUploadOverH2(browser, base, user, file) {
  const a = await browser.newContext();
  const b = await browser.newContext();
  const pa = await a.newPage();
  const pb = await b.newPage();
  const errors = [];
  for (const p of [pa, pb]) p.on('pageerror', (e) => errors.push(String(e)));
  await pa.goto(base);
  await register(pa, user);
  await swReady(pa);
  await pb.goto(base);
  await signIn(pb, user);
  await pb.waitForSelector('body[data-live="open"]', { timeout: 30_000 });

  const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
  await pa.setInputFiles('#file-input', { name: file, mimeType: 'application/octet-stream', buffer: bytes });
  await pa.waitForSelector(`#uploads li.done[data-name="${file}"]`, { timeout: 60_000 });
  const done = Date.now();
  await pb.waitForSelector(`#files tr[data-name="${file}"]`, { timeout: 5_000 });
  assert.ok(Date.now() - done < 1000, 'B saw A\'s file within a second: the event stream is live');
  for (const page of [pa, pb]) await assertH2Only(page);
  assert.deepEqual(errors, []);
  await a.close();
  await b.close();
}
