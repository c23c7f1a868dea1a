// Several API nodes, one PostgreSQL, a three-node Garage with replication factor 3, nginx in
// front of both (cluster.mjs). An upload through node 1 shows live on a device of node 2 and
// node 3 serves its bytes; with a Garage node down, uploads and downloads still work; with the
// API node under a device's event stream killed, that device reconnects through the load
// balancer to another node and nothing committed is lost. The tests run in order on one
// cluster and one account: each phase starts where the one before left off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, launchBrowser, randomBytes, register, signIn, until } from './harness.mjs';
import { startCluster } from './cluster.mjs';

const USER = 'clio';
const MIB = 1024 * 1024;

let cluster;
let browser;
/** Devices by name: `{ context, page, errors, origin }`. */
const devices = {};
/** What was uploaded: name → bytes. */
const uploaded = new Map();

before(async () => {
  cluster = await startCluster();
  browser = await launchBrowser();
}, { timeout: 180_000 });

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** A device of USER in its own browser context at `origin`, live (its event stream open). */
async function device(name, origin, { create = false } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(origin);
  if (create) await register(page, USER); else await signIn(page, USER);
  await page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
  devices[name] = { context, page, errors, origin };
  return devices[name];
}

/** Uploads `bytes` as `name` through `page`'s file picker and waits until it is committed. */
async function upload(page, name, bytes) {
  await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer: bytes });
  await page.waitForSelector(`#uploads li.done[data-name="${name}"]`, { timeout: 90_000 });
  uploaded.set(name, bytes);
}

/** Every uploaded file as `node` lists and serves it: by its pre-signed chunk URLs (which
 * go to the S3 entry) and whole through the node (`/content`), both the uploaded bytes. */
async function assertServes(node) {
  const client = await api(node.base, USER);
  const listed = (await client.list(client.session.root_id)).children;
  assert.deepEqual(listed.map((n) => n.name).sort(), [...uploaded.keys()].sort(), `${node.base} lists every file`);
  for (const [name, bytes] of uploaded) {
    const { id } = listed.find((n) => n.name === name);
    const d = await client.call('GET', `/api/v1/nodes/${id}/download`);
    const byHash = new Map(d.chunks.map((c) => [c.hash, c.url]));
    const parts = [];
    for (const c of d.manifest.chunks) {
      const url = new URL(byHash.get(c.hash), node.base);
      assert.equal(url.origin, cluster.s3.endpoint, 'chunk URLs go to the S3 entry');
      const r = await fetch(url);
      assert.equal(r.status, 200, `GET ${url.pathname}`);
      parts.push(Buffer.from(await r.arrayBuffer()));
    }
    assert.ok(Buffer.concat(parts).equals(bytes), `${name}: the signed chunk URLs give the uploaded bytes`);
    const whole = await fetch(`${node.base}/api/v1/nodes/${id}/content`, {
      headers: { authorization: `Bearer ${client.session.token}` },
    });
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes), `${name}: ${node.base}/content gives the uploaded bytes`);
  }
}

test('an upload on node 1 shows live on node 2, and node 3 serves it', { timeout: 180_000 }, async () => {
  const [n1, n2, n3] = cluster.nodes;
  const a = await device('A', n1.base, { create: true });
  const b = await device('B', n2.base);

  await upload(a.page, 'first.bin', randomBytes(21, 3 * MIB + 77));
  const done = Date.now();
  await b.page.waitForSelector('#files tr[data-name="first.bin"]', { timeout: 5_000 });
  const ms = Date.now() - done;
  assert.ok(ms < 3_000, `node 2's device saw node 1's upload after ${ms} ms`);
  await assertServes(n3);
});

test('with one Garage node down, uploads and downloads still work', { timeout: 180_000 }, async () => {
  const [, , n3] = cluster.nodes;
  const { A: a, B: b } = devices;
  await cluster.garage.stopNode(0);
  // The survivors see it gone: every write and read from here on is on two copies of three.
  await until(async () => {
    const h = await Promise.all(cluster.garage.nodes.slice(1).map((g) => g.health()));
    return h.every((s) => s.includes('some storage nodes are unavailable'));
  }, { timeout: 60_000, what: 'the other Garage nodes to report the cluster degraded' });

  await upload(a.page, 'second.bin', randomBytes(22, 3 * MIB + 5));
  await b.page.waitForSelector('#files tr[data-name="second.bin"]', { timeout: 5_000 });
  await assertServes(n3);
});

test('a killed API node: its device reconnects through the load balancer and loses nothing', { timeout: 180_000 }, async (t) => {
  const { nodes } = cluster;
  const counts = () => Promise.all(nodes.map((n) => n.streams()));
  const was = await counts();
  const c = await device('C', cluster.base);
  // The node C's event stream landed on: the one whose count went up by one.
  const landed = await until(async () => {
    const now = await counts();
    return now.reduce((s, x) => s + x, 0) === was.reduce((s, x) => s + x, 0) + 1 && now;
  }, { timeout: 10_000, what: 'C\'s event stream to show in a node\'s metrics' });
  const victim = landed.findIndex((x, i) => x === was[i] + 1);
  t.diagnostic(`C's event stream is on node ${victim + 1}: killing it`);
  const survivors = nodes.filter((_, i) => i !== victim);
  // The device that writes next is one whose own node survives (A's is node 1, B's node 2).
  const writer = victim === 0 ? devices.B : devices.A;

  await nodes[victim].kill();
  await c.page.waitForFunction(() => document.body.dataset.live !== 'open', null, { timeout: 10_000 });
  await c.page.waitForSelector('body[data-live="open"]', { timeout: 20_000 });
  const moved = await Promise.all(survivors.map((n) => n.streams()));
  const left = landed.filter((_, i) => i !== victim);
  assert.equal(moved.reduce((s, x) => s + x, 0), left.reduce((s, x) => s + x, 0) + 1,
    'C\'s stream is open on a surviving node');

  await upload(writer.page, 'third.bin', randomBytes(23, MIB + 3));
  const done = Date.now();
  await c.page.waitForSelector('#files tr[data-name="third.bin"]', { timeout: 5_000 });
  const ms = Date.now() - done;
  assert.ok(ms < 3_000, `C saw the upload after ${ms} ms`);
  // C shows every file, and so does a fresh load of the app through the load balancer.
  for (const name of uploaded.keys()) await c.page.waitForSelector(`#files tr[data-name="${name}"]`, { timeout: 5_000 });
  await c.page.reload();
  await c.page.waitForSelector('body[data-live="open"]', { timeout: 30_000 });
  for (const name of uploaded.keys()) await c.page.waitForSelector(`#files tr[data-name="${name}"]`, { timeout: 10_000 });
  // Nothing committed is lost: each surviving node lists and serves every file.
  for (const n of survivors) await assertServes(n);
  // No page whose node is alive had an uncaught error.
  for (const [name, d] of Object.entries(devices)) {
    if (d.origin !== nodes[victim].base) assert.deepEqual(d.errors, [], `page errors on ${name}`);
  }
});
