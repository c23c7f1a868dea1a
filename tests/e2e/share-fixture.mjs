// What the share-link browser tests share: an owner with files (made through the app, as a
// person would), links made through the API, visitors in fresh browser contexts (no account,
// no service worker), screenshots, and reading zips with an independent reader.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { api, register } from './harness.mjs';

export const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Screenshots go to docs/screenshots/ with CAIRN_SCREENSHOTS=1, else to `scratch`. */
export async function shot(page, scratch, name) {
  const dir = process.env.CAIRN_SCREENSHOTS === '1' ? new URL('../../docs/screenshots/', import.meta.url).pathname : join(scratch, 'shots');
  mkdirSync(dir, { recursive: true });
  await page.evaluate(() => document.activeElement?.blur());
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path });
  assert.ok(statSync(path).size > 5_000, `${name} has content`);
}

/** A signed-in owner in the app: `{context, page, errors, api}`. */
export async function owner(browser, base, user, contextOptions = {}) {
  const context = await browser.newContext({ acceptDownloads: true, serviceWorkers: 'block', ...contextOptions });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await register(page, user);
  return { context, page, errors, api: await api(base, user) };
}

/** Makes a link through the API: `{link, token, url}`. */
export function makeLink(who, body) {
  return who.api.call('POST', '/api/v1/links', body);
}

/** Someone with only the link, in a browser context of their own. */
export async function visitor(browser, options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, serviceWorkers: 'block', ...options });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

/** Opens a share page and waits until its script has drawn it. */
export async function openShare(page, base, url) {
  await page.goto(`${base}${url}`);
  await page.waitForSelector('#share[data-ready="true"]');
}

/** The bytes of a download the page starts with `click()`. */
export async function downloaded(page, click) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), click()]);
  const path = await dl.path();
  assert.ok(path, `the download of ${dl.suggestedFilename()} failed: ${await dl.failure()}`);
  return { name: dl.suggestedFilename(), bytes: readFileSync(path) };
}

/** `{name: sha256}` of every file in the zip at `path`, read by Python's zipfile (which checks
 * every CRC), after `unzip -t` found nothing wrong. */
export function zipContents(path) {
  const t = execFileSync('unzip', ['-tqq', path]).toString();
  assert.equal(t.trim(), '', `unzip -t complained: ${t}`);
  const py = `
import zipfile, sys, json, hashlib
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}))
`;
  return JSON.parse(execFileSync('python3', ['-c', py, path]).toString());
}
