// What the viewer makes of a file, from its name alone (the server records no content type, and
// the bytes are never sniffed): a kind, which says how it is shown and which icon its row gets,
// and for kinds the browser renders, the type its Blob is given. HTML and SVG are text here,
// always: rendered, they could run script in Cairn's origin.

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

const BY_EXTENSION = new Map(Object.entries(KINDS).flatMap(([kind, exts]) => exts.map((e) => [e, kind])));

/** `name`'s extension, lower case ('' for none, and for a dot file such as `.env`'s whole name). */
function extension(name) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** One of image, pdf, text, audio, video, archive, other. */
export function kindOf(name) {
  return BY_EXTENSION.get(extension(name)) || 'other';
}

/** The type a Blob of `name` is made with: never a type a browser would run as a page. */
export function blobType(name) {
  return TYPES[extension(name)] || 'application/octet-stream';
}

/** Kinds the viewer shows (the others offer a download). */
export const PREVIEWABLE = new Set(['image', 'pdf', 'text', 'audio', 'video']);
