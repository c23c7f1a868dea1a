// The chunker's committed test vectors, checked by the wasm32 build in headless Chromium: every
// case of wasm-chunker/tests/vectors.json (read here, passed to the page) must give exactly the
// native boundaries and hashes, in Rust one-shot and streamed, through the JS input buffer in
// several slice sizes, and through the chunking workers from a File, several files at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, launchBrowser } from './harness.mjs';

const vectors = JSON.parse(await readFile(new URL('../../wasm-chunker/tests/vectors.json', import.meta.url), 'utf8'));
const DEFAULT = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

let server;
let browser;
let page;
const errors = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${server.base}/bench.html`);
  await page.evaluate(async () => {
    const wasm = await import('/pkg/web_client.js');
    window.wasmExports = await wasm.default();
    window.wasm = wasm;
    window.feeder = (await import('/js/chunk-feed.js')).feeder;
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the vector file has cases at every size boundary', () => {
  assert.ok(vectors.cases.length >= 20, `${vectors.cases.length} cases`);
  assert.ok(vectors.cases.some((c) => c.kind === 'mixed' && c.len > 20 * 1024 * 1024));
});

test('wasm32 regenerates every input and matches every case, one-shot and streamed', { timeout: 300_000 }, async () => {
  for (const c of vectors.cases) {
    const error = await page.evaluate((json) => window.wasm.checkVectorCase(json), JSON.stringify(c));
    assert.equal(error, '', `case ${c.name}`);
  }
  assert.equal(await page.evaluate(() => window.wasm.checkVectorCase('{"name":1}')).then((e) => e.startsWith('not a vector case')), true);
});

test('the JS input buffer gives the same manifests in any slice size', { timeout: 300_000 }, async () => {
  for (const c of vectors.cases) {
    // Byte-at-a-time only where it stays quick; the others cross the 1 MiB buffer unevenly.
    const splits = [c.len || 1, (1 << 20) + 3, 65536, 4093, ...(c.len <= 70_000 ? [1] : [])];
    const manifests = await page.evaluate(({ json, splits }) => {
      const c = JSON.parse(json);
      const input = window.wasm.vectorInput(json);
      return splits.map((split) => {
        const chunker = window.wasm.Chunker.withParams(c.min, c.avg, c.max);
        const feed = window.feeder(chunker);
        for (let at = 0; at < input.length; at += split) feed.push(input.subarray(at, at + split));
        feed.flush();
        return chunker.finish();
      });
    }, { json: JSON.stringify(c), splits });
    manifests.forEach((m, i) => assert.deepEqual(JSON.parse(m), c.manifest, `case ${c.name}, slices of ${splits[i]}`));
  }
});

test('chunking workers read Files with File.stream(), several at once, and match the vectors', { timeout: 300_000 }, async () => {
  const cases = vectors.cases.filter((c) => c.min === DEFAULT.min && c.avg === DEFAULT.avg && c.max === DEFAULT.max);
  assert.ok(cases.length >= 10);
  const manifests = await page.evaluate(async (jsons) => {
    const { chunkFile } = await import('/js/chunk-pool.js');
    const files = jsons.map((json) => new File([window.wasm.vectorInput(json)], 'v.bin'));
    return Promise.all(files.map((f) => chunkFile(f)));
  }, cases.map((c) => JSON.stringify(c)));
  manifests.forEach((m, i) => assert.deepEqual(JSON.parse(m), cases[i].manifest, `case ${cases[i].name}`));
});

test('a large File is hashed in pieces by several workers, stitched to exactly the one-worker manifest', { timeout: 180_000 }, async () => {
  const r = await page.evaluate(async () => {
    const pool = await import('/js/chunk-pool.js');
    const MIB = 1024 * 1024;
    const noise = (n, seed) => {
      const out = new Uint8Array(n);
      let x = seed;
      for (let i = 0; i < n; i += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; out[i] = x; out[i + 1] = x >>> 8; out[i + 2] = x >>> 16; out[i + 3] = x >>> 24; }
      return out;
    };
    // Random data, and one with a run of zeros longer than the overlap where the pieces meet
    // (forced cuts never line up there, so it must fall back to one worker).
    const random = new File([noise(80 * MIB + 12345, 7)], 'random.bin');
    const runs = new File([noise(20 * MIB, 8), new Uint8Array(60 * MIB), noise(5 * MIB, 9)], 'runs.bin');
    const out = [];
    for (const f of [random, runs]) {
      const before = { ...pool.splitStats };
      let progress = 0;
      const split = await pool.chunkFile(f, (n) => { progress = Math.max(progress, n); });
      const whole = await pool.chunkInOneWorker(f);
      out.push({ split, whole, progress, size: f.size, splits: pool.splitStats.split - before.split, fellBack: pool.splitStats.fellBack - before.fellBack });
    }
    return { out, pool: pool.POOL_SIZE };
  });
  const [random, runs] = r.out;
  assert.deepEqual(JSON.parse(random.split), JSON.parse(random.whole));
  assert.deepEqual(JSON.parse(runs.split), JSON.parse(runs.whole));
  assert.ok(random.progress > 0 && random.progress <= random.size, `progress ${random.progress}`);
  // A one-core browser has a pool of one worker and never splits.
  const split = r.pool >= 2 ? 1 : 0;
  assert.deepEqual([random.splits, random.fellBack], [split, 0], 'random data was split and stitched');
  assert.deepEqual([runs.splits, runs.fellBack], [split, split], 'the run of zeros fell back to one worker');
});

test('a file on disk read by a chunking worker gives the in-memory manifest; one that vanished fails cleanly', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-reader-'));
  try {
    const path = join(dir, 'disk.bin');
    await writeFile(path, randomBytes(24 * 1024 * 1024 + 777));
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.id = 'reader-test';
      document.body.append(input);
    });
    await page.setInputFiles('#reader-test', path);
    const read = await page.evaluate(async () => {
      const pool = await import('/js/chunk-pool.js');
      const file = document.querySelector('#reader-test').files[0];
      const chunker = new window.wasm.Chunker();
      chunker.update(new Uint8Array(await file.arrayBuffer()));
      return { byWorker: await pool.chunkInOneWorker(file), inMemory: chunker.finish() };
    });
    assert.deepEqual(JSON.parse(read.byWorker), JSON.parse(read.inMemory));

    await rm(path);
    const after = await page.evaluate(async () => {
      const pool = await import('/js/chunk-pool.js');
      const file = document.querySelector('#reader-test').files[0];
      const failed = await pool.chunkInOneWorker(file).then(() => '', (e) => String(e.message || e));
      // The workers go on: a file read after the failure hashes as before.
      const small = new File([new Uint8Array(5 * 1024 * 1024).fill(3)], 'after.bin');
      const chunker = new window.wasm.Chunker();
      chunker.update(new Uint8Array(await small.arrayBuffer()));
      return { failed, next: await pool.chunkInOneWorker(small), expected: chunker.finish() };
    });
    assert.match(after.failed, /"disk\.bin" could not be read: it may have been changed, moved or deleted/);
    assert.deepEqual(JSON.parse(after.next), JSON.parse(after.expected));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('feeding 96 MiB through the input buffer does not grow WASM memory', { timeout: 120_000 }, async () => {
  const { before, after, bytes } = await page.evaluate(() => {
    const chunker = new window.wasm.Chunker();
    const feed = window.feeder(chunker);
    const piece = new Uint8Array(65536);
    let x = 1;
    const fill = () => { for (let i = 0; i < piece.length; i += 1) { x = (x * 1103515245 + 12345) >>> 0; piece[i] = x >>> 24; } };
    fill();
    feed.push(piece);
    const before = window.wasmExports.memory.buffer.byteLength;
    for (let i = 1; i < 96 * 16; i += 1) { if (i % 64 === 0) fill(); feed.push(piece); }
    feed.flush();
    const after = window.wasmExports.memory.buffer.byteLength;
    const bytes = chunker.bytes;
    chunker.finish();
    return { before, after, bytes };
  });
  assert.equal(bytes, 96 * 1024 * 1024);
  assert.equal(after, before, 'WASM memory grew while streaming');
});


test('the bench page (cargo xtask bench-chunker) runs end to end on small inputs', { timeout: 180_000 }, async () => {
  const { createRequire } = await import('node:module');
  const source = await readFile(createRequire(import.meta.url).resolve('hash-wasm/dist/blake3.umd.min.js'), 'utf8');
  const r = await page.evaluate((s) => window.cairnBench.run({ mib: 8, fileMib: 8, rounds: 1, hashWasmSource: s }), source);
  for (const v of [r.wasm.chunk_hash_1_worker_mbps, r.wasm.chunk_hash_n_workers_mbps, r.file.drain_mbps,
    r.file.pipeline_mbps, r.file.hash_wasm_blake3_mbps, r.many_files.in_parallel_mbps]) {
    assert.ok(Number.isFinite(v) && v > 0, JSON.stringify(r));
  }
});

// Not the chunker's, but this page has the bare WASM core: a failed feed pull whose error was a
// DOMException (the origin's storage full) once handed its numeric `code` (22) to the core as
// the API's error code, and wasm-bindgen's string copy then realloc'd a dangling pointer: a
// "memory access out of bounds" trap, and every later allocation of the page's WASM with it.
test('the feed planner takes any value as an error code, and the core allocates on after it', async () => {
  const r = await page.evaluate(() => {
    const feed = new window.wasm.SyncFeed(undefined);
    const asNumber = feed.error(0, new DOMException('full', 'QuotaExceededError').code, undefined);
    const asString = feed.error(503, 'backoff', 2);
    const wide = feed.error(0, 'network é'.repeat(100), undefined);
    return [asNumber.action, asString.action, wide.action, window.wasm.sniffType('é.png', new Uint8Array(8))];
  });
  assert.deepEqual(r.slice(0, 3), ['wait', 'wait', 'wait']);
});

test('no page errors', () => {
  assert.deepEqual(errors, []);
});
