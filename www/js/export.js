// "Export everything (zip)" on the account screen: the account's own tree as one zip, with
// cairn-index.json listing every version. The core downloads it with this device's token
// (the page makes no request of its own) and hands its bytes over as they arrive; they go to
// disk through the same sinks as other downloads — the service worker's download stream, else
// the save picker — so even a large account never sits in memory. Only a browser with neither
// falls back to one Blob, like every download here.
import { app, $, say, explain } from './state.js';
import { sink } from './download.js';
import { formatBytes } from './format.js';

/** Streams the export to disk; answers how it was saved. */
async function exportEverything(onProgress) {
  let s = null;
  try {
    await app.client.exportAccount(
      async ({ name, size }) => { s = await sink(name, size); await s.start(); },
      (bytes) => s.write(bytes),
      onProgress,
    );
    await s.close();
  } catch (e) {
    s?.abort();
    throw e;
  }
  return s.kind;
}

export function wireExport() {
  const b = $('#export-all');
  b.addEventListener('click', async () => {
    b.disabled = true;
    say('Preparing your export…');
    try {
      const how = await exportEverything(({ done, total }) => say(`Exporting everything: ${formatBytes(done)} of ${formatBytes(total)}`));
      document.body.dataset.lastDownload = how;
      say('Exported everything; the server checked every chunk as it went out.');
    } catch (e) {
      if (e?.name === 'AbortError') say('');
      else say(`Could not export: ${explain(e)}`, 'error');
    } finally {
      b.disabled = false;
    }
  });
}
