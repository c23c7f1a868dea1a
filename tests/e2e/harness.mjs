// Shared fixtures for the browser tests: a real Cairn server on a free loopback port with its
// own temp data dir, and Debian's Chromium driven headless by playwright-core. Both are
// bounded in time and always stopped.
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const BIN = process.env.CAIRN_BIN || new URL('../../target/debug/cairn', import.meta.url).pathname;
export const CHROMIUM = process.env.CAIRN_CHROMIUM || '/usr/bin/chromium';
// The web app of this checkout (a binary's compiled-in default may name another tree's www/).
const WWW = process.env.CAIRN_WWW || new URL('../../www', import.meta.url).pathname;

export async function startServer(extraEnv = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-e2e-'));
  const child = spawn(BIN, ['--addr', '127.0.0.1:0', '--data-dir', dataDir], {
    // CAIRN_LOG (a RUST_LOG filter) turns the server's log up when chasing a failure.
    env: { ...process.env, RUST_LOG: process.env.CAIRN_LOG || 'warn', CAIRN_WWW: WWW, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 30 s')), 30_000);
    let out = '';
    let started = false;
    child.stdout.on('data', (d) => {
      // The server logs to stdout: once it listens, pass its warnings on, so a failing test
      // shows what the server said.
      if (started) { process.stderr.write(d); return; }
      out += d;
      const m = out.match(/listening on (https?:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        started = true;
        clearTimeout(timer);
        resolve(m[1]);
        // Whatever the same read brought after the address is log too.
        const rest = out.slice(m.index + m[0].length).replace(/^[^\n]*\n?/, '');
        if (rest) process.stderr.write(rest);
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited with ${code}`)); });
  });
  return {
    base,
    dataDir,
    async stop() {
      // A server that died by a signal has no exit code but will send no more 'exit'.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
    /** Kills the server at once (SIGKILL: no graceful shutdown, as a crash); `stop()` still
     * removes its data dir. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * Headless Chromium. Every page of every context it makes reports Content-Security-Policy
 * violations (Chromium's own console report, and the `securitypolicyviolation` event), and
 * `close()` fails if there was any: the server's CSP must let the app do all it does.
 */
export async function launchBrowser({ args = [] } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
    timeout: 30_000,
  });
  const violations = [];
  const newContext = browser.newContext.bind(browser);
  // `browser.newPage()` goes through `this.newContext()` too.
  browser.newContext = async (options) => {
    const context = await newContext(options);
    await context.addInitScript(() => {
      addEventListener('securitypolicyviolation', (e) => {
        console.error(`Content Security Policy violation: ${e.effectiveDirective} blocked ${e.blockedURI}`);
      });
    });
    context.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(`${m.location()?.url}: ${m.text()}`);
    });
    return context;
  };
  const close = browser.close.bind(browser);
  browser.close = async (...args) => {
    await close(...args);
    if (violations.length) throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`);
  };
  browser.cspViolations = violations;
  return browser;
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure reproduces. */
export function randomBytes(seed, length) {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Drops `files` ([{name, base64, type}]) onto `selector` the way a user's drag does. */
export async function dropFiles(page, selector, files) {
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bin = atob(f.base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], f.name, { type: f.type || 'application/octet-stream' }));
    }
    return dt;
  }, files);
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer });
  await page.dispatchEvent(selector, 'dragover', { dataTransfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}

/** Creates an account through the sign-in screen. */
export async function register(page, username, password = 'correct horse battery') {
  await page.waitForSelector('#username');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#register');
  await page.waitForSelector('#files-view:not([hidden])');
}

// ---- Garage: a real S3 server for the object-storage runs ----------------------------------

export const GARAGE = process.env.GARAGE_BIN
  || [join(process.env.HOME || '/root', '.cargo/bin/garage')].find((p) => existsSync(p))
  || 'garage';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

/** One SigV4-signed S3 request (header auth), enough for bucket configuration calls. With
 * `unsigned`, the payload is neither hashed nor summed (`UNSIGNED-PAYLOAD`): a bulk PUT that
 * costs the sender nothing but the transfer. */
export async function s3Request(g, method, path, query, body, { unsigned = false } = {}) {
  const url = new URL(`${g.endpoint}${path}${query ? `?${query}` : ''}`);
  const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = now.slice(0, 8);
  const payloadHash = unsigned ? 'UNSIGNED-PAYLOAD' : sha256(body);
  const headers = {
    ...(unsigned ? {} : { 'content-md5': createHash('md5').update(body).digest('base64') }),
    host: url.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': now,
  };
  const signed = Object.keys(headers).sort();
  const canonicalQuery = !query || query.includes('=') ? query : `${query}=`;
  const canonical = [method, path, canonicalQuery,
    ...signed.map((h) => `${h}:${headers[h]}`), '', signed.join(';'), payloadHash].join('\n');
  const scope = `${day}/${g.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', now, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${g.secretKey}`, day);
  for (const part of [g.region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const { host: _host, ...sent } = headers;
  return fetch(url, {
    method,
    body: method === 'GET' ? undefined : body,
    headers: {
      ...sent,
      authorization: `AWS4-HMAC-SHA256 Credential=${g.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
    },
  });
}

/**
 * Starts a single-node Garage on free loopback ports under a temp dir, with bucket `cairn` and
 * a key; resolves once the S3 API answers a signed request. `stop()` kills it and removes the dir.
 */
/** A Garage server's configuration: data under `dir`, every port on loopback. */
export function garageToml({ dir, replication, rpc, s3, admin, secret }) {
  return `metadata_dir = "${join(dir, 'meta')}"
data_dir = "${join(dir, 'data')}"
db_engine = "sqlite"
replication_factor = ${replication}
rpc_bind_addr = "127.0.0.1:${rpc}"
rpc_public_addr = "127.0.0.1:${rpc}"
rpc_secret = "${secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:${s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:${admin}"
`;
}

export async function startGarage() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-garage-'));
  const [rpc, s3, admin] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'garage.toml'), garageToml({ dir, replication: 1, rpc, s3, admin, secret: randomBytesHex(32) }));
  const g = {
    endpoint: `http://127.0.0.1:${s3}`,
    region: 'garage',
    bucket: 'cairn',
    accessKey: `GK${randomBytesHex(12)}`,
    secretKey: randomBytesHex(32),
  };
  const child = spawn(GARAGE, ['-c', join(dir, 'garage.toml'), 'server', '--single-node', '--default-bucket'], {
    env: { ...process.env, RUST_LOG: 'warn', GARAGE_DEFAULT_ACCESS_KEY: g.accessKey,
      GARAGE_DEFAULT_SECRET_KEY: g.secretKey, GARAGE_DEFAULT_BUCKET: g.bucket },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await done;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  /** Lets pages from `origin` PUT and GET objects with signed URLs. */
  const allowOrigin = async (origin) => {
    const xml = `<CORSConfiguration><CORSRule><AllowedOrigin>${origin}</AllowedOrigin>`
      + '<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>'
      + '<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds>'
      + '</CORSRule></CORSConfiguration>';
    const r = await s3Request(g, 'PUT', `/${g.bucket}`, 'cors', xml);
    if (!r.ok) throw new Error(`PutBucketCors: ${r.status} ${await r.text()}`);
  };
  // Ready when the bucket accepts a signed configuration call (polled, bounded).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited !== null) { await stop(); throw new Error(`garage exited with ${exited}`); }
    try {
      await allowOrigin('http://127.0.0.1');
      break;
    } catch (e) {
      if (Date.now() > deadline) { await stop(); throw new Error(`garage not ready in 30 s: ${e}`); }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    ...g,
    allowOrigin,
    stop,
    /** The environment that points a Cairn server at this Garage. */
    env: { CAIRN_S3_ENDPOINT: g.endpoint, CAIRN_S3_BUCKET: g.bucket, CAIRN_S3_REGION: g.region,
      AWS_ACCESS_KEY_ID: g.accessKey, AWS_SECRET_ACCESS_KEY: g.secretKey },
    /** One plain PutObject of `body` as `key` (unsigned payload); answers the response. */
    putObject: (key, body) => s3Request(g, 'PUT', `/${g.bucket}/${key}`, '', body, { unsigned: true }),
    /** Lists keys under `prefix` (signed ListObjectsV2). */
    async keys(prefix) {
      const r = await s3Request(g, 'GET', `/${g.bucket}`, `list-type=2&prefix=${encodeURIComponent(prefix)}`, '');
      const text = await r.text();
      if (!r.ok) throw new Error(`ListObjectsV2: ${r.status} ${text}`);
      return [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    },
  };
}

function randomBytesHex(n) {
  return cryptoRandomBytes(n).toString('hex');
}

/** Drops real paths (files or whole folders) on `selector` through Chromium's own drag
 * pipeline, so the page gets genuine FileSystemEntry trees, as from a desktop drag. */
export async function dropPaths(page, selector, paths) {
  const box = await page.locator(selector).boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  await cdp.detach();
}

/** Signs in an existing account (a second device of it). */
export async function signIn(page, username, password = 'correct horse battery') {
  await page.waitForSelector('#username');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login');
  await page.waitForSelector('#files-view:not([hidden])');
}

/** The API as a test sees it: a signed-in account driven from node, to check what the
 * browser did (and to act as another device). */
export async function api(base, username, password = 'correct horse battery') {
  const call = async (method, path, body, token) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw Object.assign(new Error(`${method} ${path}: ${r.status} ${text}`), { status: r.status });
    return text ? JSON.parse(text) : null;
  };
  const s = await call('POST', '/api/v1/sessions', { username, password, device_name: 'test runner' });
  const self = {
    session: s,
    call: (method, path, body) => call(method, path, body, s.token),
    /** A folder's whole listing, its pages (at most 1,000 children each) put together. */
    async list(id) {
      const l = await call('GET', `/api/v1/nodes/${id}/children`, undefined, s.token);
      for (let after = l.next; after; ) {
        const more = await call('GET', `/api/v1/nodes/${id}/children?after=${encodeURIComponent(after)}`, undefined, s.token);
        l.children.push(...more.children);
        after = more.next;
      }
      delete l.next;
      return l;
    },
    /** The child of folder `id` called `name`, or undefined. */
    async child(id, name) { return (await self.list(id)).children.find((n) => n.name === name); },
    /** Follows a path of names from the root. */
    async at(...names) {
      let node = { id: s.root_id };
      for (const n of names) {
        node = await self.child(node.id, n);
        if (!node) return undefined;
      }
      return node;
    },
    /** The whole bytes of a file, fetched through its signed chunk URLs. */
    async bytes(id) {
      const d = await call('GET', `/api/v1/nodes/${id}/download`, undefined, s.token);
      const byHash = new Map(d.chunks.map((c) => [c.hash, c.url]));
      const parts = [];
      for (const c of d.manifest.chunks) {
        const r = await fetch(`${base}${byHash.get(c.hash)}`);
        parts.push(Buffer.from(await r.arrayBuffer()));
      }
      return Buffer.concat(parts);
    },
  };
  return self;
}

/** Waits (bounded) until `check()` resolves truthy; answers its value. */
export async function until(check, { timeout = 15_000, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await check(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until exactly `n` rows of the upload list are done. On a timeout the error lists
 * every row (state and text), so a run that failed once says which upload stopped where. */
export async function uploadsDone(page, n, timeout = 60_000) {
  try {
    await page.waitForFunction((k) => document.querySelectorAll('#uploads li.done').length === k, n, { timeout });
  } catch (e) {
    const rows = await page.evaluate(() => [...document.querySelectorAll('#uploads li')]
      .map((li) => `${li.className} [${li.dataset.name ?? ''}] ${li.textContent.replace(/\s+/g, ' ').trim()}`))
      .catch((why) => [`(the list could not be read: ${why})`]);
    throw new Error(`${n} uploads were not all done within ${timeout} ms; the list:\n  ${rows.join('\n  ')}`, { cause: e });
  }
}

/** Resolves once a service worker controls the page (the shell is then cached). */
export async function swReady(page) {
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
}

/** One device of `user` in its own browser context (created with `create`; `options` are the
 * context's, e.g. `serviceWorkers: 'block'` where a test routes API requests), with page errors
 * collected so a test can assert there were none. */
export async function openDevice(browser, base, user, { create = false, options = {} } = {}) {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  if (create) await register(page, user); else await signIn(page, user);
  return { context, page, errors };
}

/** Uploads a small text file through the file picker and waits until it is done (or queued,
 * when offline). */
export async function uploadText(page, name, text) {
  const row = `#uploads li.done[data-name="${name}"], #uploads li.queued[data-name="${name}"]`;
  const before = await page.locator(row).count();
  await page.setInputFiles('#file-input', { name, mimeType: 'text/plain', buffer: Buffer.from(text) });
  await page.locator(row).nth(before).waitFor({ timeout: 60_000 });
}

/** Makes a folder through the "New folder" dialog. */
export async function newFolder(page, name) {
  await page.click('#new-folder');
  await page.fill('#dialog-input', name);
  await page.click('#dialog-ok');
  await page.waitForSelector(`#files tr[data-name="${name}"]`);
}

/** One server and one browser for the whole test file: started before the first test,
 * stopped after the last. Read `.server` and `.browser` inside tests. */
export function sharedServerAndBrowser(env = {}) {
  const shared = { server: null, browser: null };
  before(async () => {
    shared.server = await startServer(env);
    shared.browser = await launchBrowser();
  });
  after(async () => {
    await shared.browser?.close();
    await shared.server?.stop();
  });
  return shared;
}

/** The number after `name` on the command line, or `fallback` (the bench scripts' options). */
export function numberArg(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/**
 * The bench page for the bench scripts: a file of `fileMib` MiB of random bytes on disk handed
 * to its `#bench-file` input (as a dropped file is read: a File made in the page's memory drains
 * about twice as fast, which no user's file does), on a real server in headless Chromium. Runs
 * `body(page, browser)`, then stops everything and removes the file.
 */
export async function withBenchPage(fileMib, body) {
  const disk = await scratchFile(fileMib);
  const server = await startServer();
  let browser;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage();
    page.on('console', (m) => process.stderr.write(`bench page: ${m.text()}\n`));
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e}\n`));
    await page.goto(`${server.base}/bench.html`);
    await page.setInputFiles('#bench-file', disk.path);
    return await body(page, browser);
  } finally {
    await browser?.close();
    await server.stop();
    await disk.remove();
  }
}

/** A file of `mib` MiB of random bytes in a temp dir: `{path, remove()}`. */
export async function scratchFile(mib) {
  const { mkdtemp, open, rm } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'cairn-bench-'));
  const path = join(dir, 'bench.bin');
  const out = await open(path, 'w');
  for (let i = 0; i < mib; i += 1) await out.write(cryptoRandomBytes(1 << 20));
  await out.close();
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
