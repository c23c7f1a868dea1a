// The browser client over a bad network: every request of the page — API calls, chunk PUTs and
// GETs, the event stream — crosses the seeded fault proxy (tests/e2e/proxy.mjs), which resets
// connections in the middle of bodies, truncates answers, stalls streams and adds latency. The
// page signs in over a clean network, then the faults go on; the bytes must still come out
// right, upload and download alike, and another device must still see them live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { startServer, launchBrowser, randomBytes, register, signIn, api } from './harness.mjs';
import { startProxy } from './proxy.mjs';

let server;
let browser;
const proxies = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  for (const p of proxies) await p.stop();
  await browser?.close();
  await server?.stop();
});

// FAULT_PROXY_SEED=n replays the tests under other seeds; FAULT_PROXY_TRACE=1 logs every failed
// request and every live-sync answer of the pages, with ms since the page opened.
const seed = (s) => (process.env.FAULT_PROXY_SEED ? Number(process.env.FAULT_PROXY_SEED) + s - 1 : s);
const TRACE = Boolean(process.env.FAULT_PROXY_TRACE);

const sha = (b) => createHash('sha256').update(b).digest('hex');

async function proxy(faults) {
  const p = await startProxy(server.base, faults);
  proxies.push(p);
  // Off while the page loads and signs in: a truncated script is the browser's problem, not
  // the client's. The seed's sequence starts again when they go on.
  await p.faultsOff();
  return p;
}

/** The proxy's counts from `then` to `now`. */
const faultsSince = (then, now) => Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - then[k]]));

/** A device of `user` whose every request goes through `p`. */
async function device(p, user, create) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  if (TRACE) {
    const t0 = Date.now();
    const tag = `${user}${create ? 'A' : 'B'}`;
    page.on('requestfailed', (r) => console.error(tag, Date.now() - t0, 'FAILED', r.method(), new URL(r.url()).pathname.slice(0, 40), r.failure()?.errorText));
    page.on('response', (r) => { if (/children|changes|ticket|events/.test(r.url())) console.error(tag, Date.now() - t0, r.status(), new URL(r.url()).pathname.slice(0, 40)); });
  }
  await page.goto(p.base);
  if (create) await register(page, user); else await signIn(page, user);
  await page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
  return { context, page, errors };
}

/** Waits for the upload row of `name` to end: done, or the state it stopped in. */
async function uploaded(page, name) {
  const row = page.locator(`#uploads li[data-name="${name}"]`).last();
  await page.waitForFunction((n) => {
    const li = [...document.querySelectorAll('#uploads li')].filter((l) => l.dataset.name === n).at(-1);
    return li && /\b(done|failed|paused|canceled|queued)\b/.test(li.className);
  }, name, { timeout: 45_000 });
  const cls = await row.getAttribute('class');
  const detail = await row.locator('.detail').textContent().catch(() => '');
  assert.match(cls, /\bdone\b/, `the upload of ${name} ended ${cls}: ${detail}`);
}

/** Downloads `name` with the page's own download button; its bytes. */
async function download(page, name) {
  await page.waitForSelector(`#files tr[data-name="${name}"]`, { timeout: 30_000 });
  const [file] = await Promise.all([
    page.waitForEvent('download', { timeout: 45_000 }),
    page.locator(`#files tr[data-name="${name}"] button.download`).click(),
  ]);
  try {
    return readFileSync(await file.path());
  } catch (e) {
    throw new Error(`the download of ${name} failed (${e.message}); the page said: ${await page.locator('#status').textContent()}`);
  }
}

test('a multi-chunk upload and its download come out whole through resets, truncations, stalls and latency', { timeout: 60_000 }, async (t) => {
  const p = await proxy({ seed: seed(1), latencyMs: 2, reset: 0.6, truncate: 0.3, stall: 0.2, stallMs: 400 });
  const { context, page, errors } = await device(p, 'fay', true);
  await p.faultsOn();
  // The connections opened while the network was clean go too: from here every request
  // meets the seeded faults.
  await p.resetAll();
  const clean = await p.stats();

  const data = randomBytes(17, 9 * 1024 * 1024 + 333);
  await page.setInputFiles('#file-input', { name: 'rough.bin', mimeType: 'application/octet-stream', buffer: data });
  await uploaded(page, 'rough.bin');
  const got = await download(page, 'rough.bin');
  assert.equal(got.length, data.length);
  assert.equal(sha(got), sha(data), 'the page downloaded the bytes it uploaded');
  const s = faultsSince(clean, await p.stats());
  t.diagnostic(`through the proxy: ${JSON.stringify(s)}`);

  // What the server holds, read past the proxy.
  const fay = await api(server.base, 'fay');
  const node = await fay.at('rough.bin');
  const manifest = (await fay.call('GET', `/api/v1/nodes/${node.id}/download`)).manifest;
  assert.ok(manifest.chunks.length >= 4, `${manifest.chunks.length} chunks`);
  assert.equal(sha(await fay.bytes(node.id)), sha(data));
  assert.equal((await fay.list(fay.session.root_id)).children.filter((n) => n.name.startsWith('rough')).length, 1, 'written once');
  assert.ok(s.resets + s.truncations > 0, `faults were met: ${JSON.stringify(s)}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('two devices on live sync through stalled and reset event streams: a file from one arrives whole on the other', { timeout: 60_000 }, async (t) => {
  const p = await proxy({ seed: seed(2), latencyMs: 1, reset: 0.4, truncate: 0.2, stall: 0.5, stallMs: 1500 });
  const a = await device(p, 'duo', true);
  const b = await device(p, 'duo', false);
  await p.faultsOn();
  // Both event streams are cut; they come back through the faults.
  await p.resetAll();
  const clean = await p.stats();
  let cuts = 0;

  for (const [i, size] of [[1, 2 * 1024 * 1024 + 5], [2, 700_000]]) {
    const name = `live-${i}.bin`;
    const data = randomBytes(40 + i, size);
    await a.page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer: data });
    await uploaded(a.page, name);
    // B learns of it live (its stream was reset and may be stalled): no reload, no click.
    await b.page.waitForSelector(`#files tr[data-name="${name}"]`, { timeout: 30_000 });
    const got = await download(b.page, name);
    assert.equal(sha(got), sha(data), `${name} arrived whole on the other device`);
    // Cut everything again between the two files, the streams included.
    cuts += await p.resetAll();
  }
  const s = faultsSince(clean, await p.stats());
  s.resets -= cuts; // what the seed did, not the test's own cuts
  t.diagnostic(`through the proxy: ${JSON.stringify(s)}`);
  assert.ok(cuts >= 2 && s.resets + s.truncations + s.stalls > 0, `faults were met: ${cuts} cut, ${JSON.stringify(s)}`);
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});
