// "Export everything (zip)" on the devices screen, as a person uses it: the core downloads the
// account's export with this device's token and the page streams it to a normal browser
// download, which Python's zipfile opens (every CRC checked) — cairn-index.json first, then the
// user's folders and files under their paths, with the right bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openDevice, uploadText, newFolder, swReady, until, sharedServerAndBrowser } from './harness.mjs';

const shared = sharedServerAndBrowser();

/** Python's view of a zip: [name, text or null for a folder] in archive order; CRCs checked. */
function unzip(path) {
  const script = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps([[i.filename, None if i.is_dir() else z.read(i).decode()] for i in z.infolist()]))
`;
  return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
}

test('export everything saves the own tree as a zip with its index first', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await openDevice(shared.browser, shared.server.base, 'exporter', { create: true });
  await uploadText(page, 'top.txt', 'at the top\n');
  await newFolder(page, 'Notes');
  await page.click('#files tr[data-name="Notes"] button.open');
  await page.waitForSelector('#empty:not([hidden])');
  await uploadText(page, 'inner.txt', 'inside\n');
  await swReady(page);

  await page.click('#nav button[data-view="devices"]');
  await page.waitForSelector('#device-list li');
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.click('#export-all'),
  ]);
  assert.match(dl.suggestedFilename(), /^cairn-exporter-\d{4}-\d{2}-\d{2}\.zip$/);
  const entries = unzip(await dl.path());
  assert.equal(entries[0][0], 'cairn-index.json');
  const index = JSON.parse(entries[0][1]);
  assert.equal(index.username, 'exporter');
  assert.deepEqual(index.files.map((f) => [f.path, f.versions.length]), [['Notes/inner.txt', 1], ['top.txt', 1]]);
  assert.deepEqual(entries.slice(1), [['Notes/', null], ['Notes/inner.txt', 'inside\n'], ['top.txt', 'at the top\n']]);
  await until(async () => /Exported everything/.test(await page.locator('#status').textContent()), { what: 'the export to be reported done' });
  assert.deepEqual(errors, []);
  await context.close();
});
