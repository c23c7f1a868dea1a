// The browser half of `cargo xtask bench-chunker`: starts the real cairn server and headless
// Chromium, opens /bench.html, injects hash-wasm's BLAKE3 from node_modules, runs the bench and
// prints its figures as one JSON line on stdout (progress goes to stderr).
//
//   CAIRN_BIN=target/debug/cairn node e2e/chunker-bench.mjs [--mib 256] [--file-mib 256] [--rounds 3]
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { numberArg, withBenchPage } from './harness.mjs';

const mib = numberArg('--mib', 256);
const fileMib = numberArg('--file-mib', 256);
const rounds = numberArg('--rounds', 3);

const require = createRequire(import.meta.url);
const hashWasmSource = await readFile(require.resolve('hash-wasm/dist/blake3.umd.min.js'), 'utf8');

// The File pipelines read a real file on disk (withBenchPage), as a dropped file is read.
await withBenchPage(fileMib, async (page, browser) => {
  await page.waitForFunction(() => window.cairnBench, null, { timeout: 30_000 });
  const result = await page.evaluate((o) => window.cairnBench.run(o), { mib, fileMib, rounds, hashWasmSource });
  result.chromium = browser.version();
  console.log(JSON.stringify(result));
});
