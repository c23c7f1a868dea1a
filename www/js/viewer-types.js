// What the viewer makes of a file: a kind, which says how it is shown and which icon its row
// gets, and for kinds the browser renders, the type its Blob is given. From the type its
// uploader sniffed and stored with the version (`node.content_type`, so a PNG called `photo`
// previews) when that type is one of ours below, else from its name. HTML and SVG are text here,
// always, whatever the type or the name says: rendered, they could run script in Cairn's origin.

const KINDS = {
  image: ['jpg', 'jpeg', 'png', 'gif', 'webp', 'avif', 'bmp'],
  pdf: ['pdf'],
  text: ['txt', 'md', 'markdown', 'json', 'csv', 'tsv', 'log', 'ini', 'cfg', 'conf', 'env',
    'rs', 'js', 'mjs', 'ts', 'py', 'rb', 'php', 'pl', 'lua', 'sql', 'sh', 'bash', 'zsh',
    'c', 'h', 'cc', 'cpp', 'hpp', 'go', 'java', 'kt', 'swift', 'cs',
    'html', 'htm', 'svg', 'css', 'xml', 'yaml', 'yml', 'toml', 'diff', 'patch'],
  audio: ['mp3', 'ogg', 'oga', 'wav', 'm4a', 'flac', 'opus'],
  video: ['mp4', 'm4v', 'webm', 'ogv'],
  archive: ['zip', 'tar', 'gz', 'tgz', 'bz2', 'xz', 'zst', '7z', 'rar'],
};

/** The Blob types of the kinds the browser renders from a blob: URL. */
const TYPES = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
  avif: 'image/avif', bmp: 'image/bmp', pdf: 'application/pdf',
  mp3: 'audio/mpeg', ogg: 'audio/ogg', oga: 'audio/ogg', wav: 'audio/wav', m4a: 'audio/mp4',
  flac: 'audio/flac', opus: 'audio/ogg', mp4: 'video/mp4', m4v: 'video/mp4', webm: 'video/webm', ogv: 'video/ogg',
};

/** Stored types the viewer renders as what they say: raster images, PDF, audio, video. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);
const ARCHIVE_TYPES = new Set(['application/zip', 'application/gzip', 'application/x-tar', 'application/x-bzip2',
  'application/x-xz', 'application/zstd', 'application/x-7z-compressed', 'application/vnd.rar', 'application/x-rar-compressed']);

/** The kind a stored type stands for, or null for a type this viewer does not know (the name
 * decides then). Markup of any sort (HTML, SVG, XML) and script are text. */
function kindOfType(type) {
  if (typeof type !== 'string' || !type) return null;
  const t = type.toLowerCase();
  if (IMAGE_TYPES.has(t)) return 'image';
  if (t === 'application/pdf') return 'pdf';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  if (t.startsWith('text/') || t === 'application/json' || t === 'application/xml' || t === 'application/javascript'
    || t.endsWith('+xml') || t.endsWith('+json')) return 'text';
  if (ARCHIVE_TYPES.has(t)) return 'archive';
  return null;
}

const BY_EXTENSION = new Map(Object.entries(KINDS).flatMap(([kind, exts]) => exts.map((e) => [e, kind])));

/** `name`'s extension, lower case ('' for none, and for a dot file such as `.env`'s whole name). */
function extension(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** One of image, pdf, text, audio, video, archive, other; `type`: the stored content type. */
export function kindOf(name, type) {
  return kindOfType(type) || BY_EXTENSION.get(extension(name)) || 'other';
}

/** The type a Blob of `name` (stored as `type`) is made with: never a type a browser would run
 * as a page (only an image, PDF, audio or video type is ever taken from `type`). */
export function blobType(name, type) {
  const kind = kindOfType(type);
  if (kind === 'image' || kind === 'pdf' || kind === 'audio' || kind === 'video') return type.toLowerCase();
  return TYPES[extension(name)] || 'application/octet-stream';
}

/** Kinds the viewer shows (the others offer a download). */
export const PREVIEWABLE = new Set(['image', 'pdf', 'text', 'audio', 'video']);
