// A folder far longer than one listing page: the app reads it in pages (none above 1,000
// children), draws the first rows at once and the rest as the list scrolls or the keyboard
// walks past the last drawn row, and ends with every entry once, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, until, openDevice, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();
const COUNT = 1500;
const name = (i) => `item-${String(i).padStart(4, '0')}`;

test('a folder of 1,500 entries is read in pages and scrolls to its end', { timeout: 180_000 }, async () => {
  const { page, errors } = await openDevice(shared.browser, shared.server.base, 'lena', { create: true });
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
  await page.waitForSelector('#files tr[data-name="Many"]');
  const opened = Date.now();
  await page.focus('#files tr[data-name="Many"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#files tr[data-name="${name(0)}"]`);
  console.log(`# ${COUNT} entries: first rows after ${Date.now() - opened} ms, pages of ${pages.join(', ')}`);
  assert.ok(pages.length >= 2 && pages.every((n) => n <= 1000), `pages: ${pages}`);
  const drawn = () => page.locator('#files tbody tr:not(.more)').count();
  assert.ok(await drawn() < COUNT, 'not every row is drawn up front');
  assert.match(await page.locator('#files tr.more').textContent(), /more/);

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
