// A folder far longer than one listing page: the app reads it in pages (none above 1,000
// children), draws the first page's rows as soon as that page arrives (the second is held back
// meanwhile), the rest as the list scrolls or the keyboard walks past the last drawn row, and
// ends with every entry once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, until, openDevice, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();
const COUNT = 1500;
const name = (i) => `item-${String(i).padStart(4, '0')}`;

test('a folder of 1,500 entries is read in pages and scrolls to its end', { timeout: 180_000 }, async () => {
  // No service worker: the test holds the listing's second page in `page.route`.
  const { page, errors } = await openDevice(shared.browser, shared.server.base, 'lena', { create: true, options: { serviceWorkers: 'block' } });
  await page.waitForSelector('#welcome:not([hidden])');
  const lena = await api(shared.server.base, 'lena');
  const many = await lena.call('POST', '/api/v1/folders', { parent_id: lena.session.root_id, name: 'Many' });
  // Made from here, six at a time: what matters is the list, not how it was filled.
  let next = 0;
  await Promise.all(Array.from({ length: 6 }, async () => {
    while (next < COUNT) {
      const i = next++;
      await lena.call('POST', '/api/v1/folders', { parent_id: many.id, name: name(i) });
    }
  }));
  assert.equal((await lena.list(many.id)).children.length, COUNT);

  const pages = [];
  page.on('response', async (r) => {
    if (!r.url().includes(`/nodes/${many.id}/children`) || r.status() !== 200) return;
    pages.push((await r.json()).children.length);
  });
  // The pages after the first wait until the test lets them go.
  let release;
  const held = new Promise((r) => { release = r; });
  let asked = 0;
  await page.route((url) => url.pathname === `/api/v1/nodes/${many.id}/children` && url.searchParams.has('after'), async (route) => {
    asked += 1;
    await held;
    await route.continue();
  });
  await page.waitForSelector('#files tr[data-name="Many"]');
  const opened = Date.now();
  await page.focus('#files tr[data-name="Many"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#files tr[data-name="${name(0)}"]`);
  console.log(`# ${COUNT} entries: first rows after ${Date.now() - opened} ms, with the second page held`);
  // Drawn from the first page while the second is asked for and not yet answered.
  await until(async () => asked === 1 && pages.length === 1, { what: 'the second page to be asked for' });
  assert.deepEqual(pages, [1000], 'only the first page has come');
  const drawn = () => page.locator('#files tbody tr:not(.more)').count();
  assert.equal(await drawn(), 200, 'the first window of the first page');
  assert.equal(await page.locator('#files tr.more').textContent(), '800 more…');
  // Scrolling while the rest is on its way draws from what has come.
  await page.mouse.move(400, 400);
  await until(async () => {
    await page.mouse.wheel(0, 4000);
    return (await drawn()) >= 400;
  }, { what: 'a second window drawn while the second page is held' });
  const before = await drawn();
  release();
  await until(async () => pages.length === 2, { what: 'the second page' });
  assert.ok(pages.every((n) => n <= 1000), `pages: ${pages}`);
  // The rest joins the list without taking away the rows drawn.
  const more = () => page.locator('#files tr.more').textContent();
  await until(async () => (await more()) === `${COUNT - await drawn()} more…`, { what: 'the whole listing behind the drawn rows' });
  assert.ok(await drawn() >= before, 'no drawn row taken away');
  assert.ok(await drawn() < COUNT, 'not every row is drawn up front');
  assert.match(await more(), /more/);

  // The keyboard walks past the last drawn row into the next ones.
  const last = await drawn();
  await page.focus(`#files tr[data-name="${name(last - 1)}"]`);
  await page.keyboard.press('ArrowDown');
  await until(async () => (await page.evaluate(() => document.activeElement?.dataset?.name)) === name(last), { what: 'the row after the last drawn to take the focus' });

  // Scrolling draws the rest, with the page's frames measured meanwhile.
  await page.evaluate(() => {
    window.__gaps = [];
    let t = performance.now();
    const tick = (now) => { window.__gaps.push(now - t); t = now; if (window.__gaps.length < 100_000) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  await until(async () => {
    await page.mouse.wheel(0, 4000);
    return page.locator(`#files tr[data-name="${name(COUNT - 1)}"]`).count();
  }, { timeout: 60_000, what: 'the last entry to be drawn' });
  const worst = await page.evaluate(() => Math.max(...window.__gaps));
  console.log(`# scrolled to the end; longest frame ${worst.toFixed(0)} ms`);
  const names = await page.locator('#files tbody tr:not(.more)').evaluateAll((rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(names, Array.from({ length: COUNT }, (_, i) => name(i)));
  assert.equal(await page.locator('#files tr.more').count(), 0);
  assert.deepEqual(errors, []);
});
