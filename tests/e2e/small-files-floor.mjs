// The least a web page can do to send a tree of small files, measured beside Cairn and rclone
// in `small-files-bench.mjs`: one cross-origin PUT of each File, with the CORS preflight every
// new signed URL costs, 24 at once (Cairn's window), to a Node sink that only drains the
// body. No hashing, no API, no IndexedDB, no store behind it: what the browser itself spends
// per file on this machine is the ceiling any browser client of a bucket reaches here.
import http from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { launchBrowser } from './harness.mjs';
import { cpuByRole, coresBusy } from './small-files-kit.mjs';

const AT_ONCE = 24;

async function filesUnder(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await filesUnder(p));
    else out.push(p);
  }
  return out;
}

function listen(handler) {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Sends every file under `top` from a page and answers files/s and the CPU per process. */
export async function floorRun(top) {
  const paths = await filesUnder(top);
  let received = 0;
  const sink = await listen((req, res) => {
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'content-type',
    };
    if (req.method === 'OPTIONS') { res.writeHead(204, cors); res.end(); return; }
    req.on('data', () => {});
    req.on('end', () => { received += 1; res.writeHead(200, cors); res.end(); });
  });
  const page = await listen((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><input type="file" multiple>');
  });
  const browser = await launchBrowser();
  try {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${page.address().port}/`);
    await tab.setInputFiles('input', paths);
    const to = `http://127.0.0.1:${sink.address().port}`;
    const cpu0 = await cpuByRole();
    const ms = await tab.evaluate(async ({ to, atOnce }) => {
      const files = [...document.querySelector('input').files];
      let next = 0;
      const t0 = performance.now();
      const lane = async () => {
        while (next < files.length) {
          const i = next++;
          const r = await fetch(`${to}/put/${i}`, { method: 'PUT', body: files[i], headers: { 'content-type': 'application/octet-stream' } });
          if (!r.ok) throw new Error(`PUT ${i}: ${r.status}`);
        }
      };
      await Promise.all(Array.from({ length: atOnce }, lane));
      return performance.now() - t0;
    }, { to, atOnce: AT_ONCE });
    const cpu1 = await cpuByRole();
    if (received !== paths.length) throw new Error(`the sink got ${received} of ${paths.length} files`);
    return { files_per_s: +(paths.length / (ms / 1000)).toFixed(1), secs: +(ms / 1000).toFixed(1), cores_busy: coresBusy(cpu0, cpu1, ms) };
  } finally {
    await browser.close();
    sink.close();
    page.close();
  }
}
