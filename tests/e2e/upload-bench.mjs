// `cargo xtask bench-upload [--mib N]`: a file dropped in headless Chromium and uploaded to
// Garage through Cairn (chunked and hashed by the WASM workers, missing chunks PUT to signed
// staging URLs, checked by the server while sending, committed), against one plain PutObject of
// the same bytes from here, in one run on one machine. Where the time goes comes from the
// upload row's states (hashing → sending → committing → done), stamped in the page.
import { readFile } from 'node:fs/promises';
import { startServer, startGarage, launchBrowser, register, scratchFile, numberArg } from './harness.mjs';

const mib = numberArg('--mib', 1024);
const disk = await scratchFile(mib);
const garage = await startGarage();
const server = await startServer(garage.env);
await garage.allowOrigin(server.base);
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e}\n`));
  await page.goto(server.base);
  await register(page, 'bench');
  // Every state the upload row takes, with the page's clock.
  await page.evaluate(() => {
    window.benchStates = [];
    new MutationObserver(() => {
      const row = document.querySelector('#uploads li.upload');
      const state = row?.dataset.state;
      const last = window.benchStates[window.benchStates.length - 1];
      if (state && state !== last?.state) window.benchStates.push({ state, at: performance.now() });
    }).observe(document.querySelector('#uploads'), { subtree: true, attributes: true, childList: true });
  });
  const began = await page.evaluate(() => performance.now());
  await page.setInputFiles('#file-input', disk.path);
  await page.waitForSelector('#uploads li.done', { timeout: 30 * 60_000 });
  const states = await page.evaluate(() => window.benchStates);
  const at = (s) => states.find((x) => x.state === s)?.at;
  const cairn = (at('done') - began) / 1000;
  const phases = {
    hashing: (at('sending') - (at('hashing') ?? began)) / 1000,
    sending: (at('committing') - at('sending')) / 1000,
    committing: (at('done') - at('committing')) / 1000,
  };
  const detail = await page.locator('#uploads li.done .detail').textContent();

  const bytes = await readFile(disk.path);
  const t = performance.now();
  const r = await garage.putObject('bench/plain', bytes);
  if (!r.ok) throw new Error(`PutObject: ${r.status} ${await r.text()}`);
  const plain = (performance.now() - t) / 1000;
  const mbs = (secs) => (mib * 1048576 / 1e6 / secs).toFixed(0);
  console.log(`\n${mib} MiB from disk, Garage single node on loopback, headless Chromium`);
  console.log('| path | MB/s | time |\n|---|---|---|');
  console.log(`| Cairn in the browser (hash ${phases.hashing.toFixed(1)} s, send ${phases.sending.toFixed(1)} s, commit ${(phases.committing * 1000).toFixed(0)} ms) | ${mbs(cairn)} | ${cairn.toFixed(1)} s |`);
  console.log(`| plain PutObject from Node (one request, unsigned payload) | ${mbs(plain)} | ${plain.toFixed(1)} s |`);
  console.log(`| ratio Cairn / plain | ${(plain / cairn).toFixed(2)} | |`);
  console.log(`row: ${detail}`);
  console.log(JSON.stringify({ mib, cairn, phases, plain }));
} finally {
  await browser.close();
  await server.stop();
  await garage.stop();
  await disk.remove();
}
