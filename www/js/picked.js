// What a drop or a picker hands over, as a flat list of `{file, dirs}` (`file` null for a
// folder, so empty folders come along too; `dirs` the folder path inside what was dropped).
// Shared by the app's uploads and a file request's drop page.

function readAll(reader) {
  return new Promise((resolve, reject) => {
    const out = [];
    const next = () => reader.readEntries((batch) => {
      if (!batch.length) resolve(out); else { out.push(...batch); next(); }
    }, reject);
    next();
  });
}

async function walk(entry, dirs, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    out.push({ file, dirs });
  } else if (entry.isDirectory) {
    const here = [...dirs, entry.name];
    out.push({ file: null, dirs: here });
    for (const child of await readAll(entry.createReader())) await walk(child, here, out);
  }
}

/** Must be called synchronously inside the drop handler: the items die after it returns. */
export function takeDrop(dt) {
  const entries = [...(dt.items || [])].filter((i) => i.kind === 'file').map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  const files = [...(dt.files || [])];
  return async () => {
    if (!entries.length) return files.map((file) => ({ file, dirs: [] }));
    const out = [];
    for (const e of entries) await walk(e, [], out);
    return out;
  };
}

/** Files from an <input webkitdirectory> carry their path inside the picked folder. */
export function fromPicker(fileList) {
  return [...fileList].map((file) => {
    const parts = (file.webkitRelativePath || file.name).split('/');
    return { file, dirs: parts.slice(0, -1) };
  });
}
