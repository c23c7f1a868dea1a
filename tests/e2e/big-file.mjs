// `cargo xtask big-file [--gib N] [--s3]`: one file of N GiB (default 10) dropped in headless
// Chromium, the page reloaded at 40% sent, resumed by the page from its IndexedDB record, then
// downloaded to disk through the UI and checked by SHA-256, with the page's and the workers'
// WASM memory, the JS heap and the renderers' RSS sampled every 2 s (big-file-kit.mjs). Prints
// the table of BENCHMARKS.md and the run as one JSON line; exits 1 when a check fails.
import { writeFileSync } from 'node:fs';
import { runBigFile, memory, mibs, series } from './big-file-kit.mjs';
import { numberArg } from './harness.mjs';

const gib = numberArg('--gib', 10);
const s3 = process.argv.includes('--s3');
const mib = Math.round(gib * 1024);
const r = await runBigFile({ mib, s3, log: (l) => console.error(`big-file: ${l}`) });
const m = memory(r);
const mbs = (secs) => (r.size / 1e6 / secs).toFixed(0);
const range = (s) => (s ? `${mibs(s.min)} – ${mibs(s.max)} (last ${mibs(s.last)})` : '–');
const c = r.checkpoints;
const heapAt = (s) => (s?.heap ? mibs(s.heap.used) : '–');
const rows = [
  ['file', `${gib} GiB (${r.size.toLocaleString('en')} bytes, ${r.chunks.toLocaleString('en')} chunks), ${r.store === 'garage' ? 'Garage single node' : 'local chunk store'}`],
  ['upload (hash, send, reload at ' + `${(r.reloadedAtSent * 100).toFixed(0)}%, resume, commit)`, `${r.uploadSecs.toFixed(1)} s, ${mbs(r.uploadSecs)} MB/s (hashing ${r.hashSecs?.toFixed(1)} s)`],
  ['manifest parts sent (a draft above 8,192 chunks)', `${r.manifestParts}`],
  ['chunk PUTs before / after the reload', `${r.putsBefore.toLocaleString('en')} / ${r.putsAfter.toLocaleString('en')}`],
  ['bytes re-sent after the reload', `${mibs(r.resentBytes)} = ${(100 * r.resentBytes / r.size).toFixed(1)}% of the file (${r.sentTwice} chunks PUT on both sides of it)`],
  ['download (through the service worker to disk)', `${r.downloadSecs.toFixed(1)} s, ${mbs(r.downloadSecs)} MB/s (${r.downloadedBy})`],
  ['SHA-256 of the download = the original', r.verified ? `yes (${r.sha256.slice(0, 16)}…)` : `NO: ${r.downloadedSha256} (${r.downloadedBytes} bytes)`],
  ['WASM memory max, page / workers (upload)', `${mibs(m.upload.pageWasm?.max)} / ${mibs(m.upload.workerWasm?.max)} (${m.upload.workers} workers)`],
  ['WASM memory max, page / workers (download)', `${mibs(m.download.pageWasm?.max)} / ${mibs(m.download.workerWasm?.max)}`],
  ['JS heap used, upload (min – max)', range(m.upload.heapUsed)],
  ['JS heap used, download (min – max)', range(m.download.heapUsed)],
  ['JS heap used after GC at 25% / 100% (upload)', `${heapAt(c.upload25)} / ${heapAt(c.upload100)}`],
  ['JS heap used after GC at 25% / 100% (download)', `${heapAt(c.download25)} / ${heapAt(c.download100)}`],
  ['renderer RSS, upload (min – max)', range(m.upload.rss)],
  ['renderer RSS, download (min – max)', range(m.download.rss)],
  ['browser profile on disk at the reload / when done (IndexedDB keeps a copy of the File)', `${mibs(r.profileAtReload)} / ${mibs(r.profileAtDone)}`],
  ['page errors', r.errors.length ? r.errors.join('; ') : 'none'],
];
console.log(`\n| ${gib} GiB in headless Chromium | |\n|---|---|`);
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
// Whether anything grows with the bytes moved: the samples at about every tenth of each phase
// (the upload's bar is hashing for its first half, sending for its second).
for (const p of ['upload', 'download']) {
  console.log(`\n${p}, by progress: ${series(r, p).map((x) => `${(x.progress * 100).toFixed(0)}%: heap ${mibs(x.heap)}, RSS ${mibs(x.rss)}, WASM ${mibs(x.page)} / ${x.workers.map(mibs).join(', ') || '–'}`).join('; ')}`);
}
const out = process.argv.indexOf('--samples');
if (out >= 0) writeFileSync(process.argv[out + 1], JSON.stringify(r.samples));
const { samples, ...rest } = r;
console.log(JSON.stringify({ ...rest, memory: m, samples: samples.length }));
const LIMIT = 64 * 1024 * 1024;
const wasmMax = Math.max(...['upload', 'download'].flatMap((p) => [m[p].pageWasm?.max ?? 0, m[p].workerWasm?.max ?? 0]));
const failures = [
  !r.verified && 'the download differs from the file',
  r.resentBytes > 0.65 * r.size && 'the resume re-sent more than 65% of the file',
  wasmMax >= LIMIT && `WASM memory reached ${mibs(wasmMax)}`,
  r.errors.length && 'page errors',
  r.chunks > 8192 && r.manifestParts === 0 && 'a manifest of more than 8,192 chunks was not sent in parts',
].filter(Boolean);
if (failures.length) {
  console.error(`FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
