// Human-readable sizes, rates and dates for the file list and progress lines.
// Binary units, named as such: quotas and files are sized in powers of two (a 1 TiB quota
// read "of 1.1 TB" in decimal units, which looked like a mistake).
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n) {
  let i = 0;
  let v = Number(n) || 0;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i += 1; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond) {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatDate(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "just now", "2 min ago", "3 h ago", "yesterday", "4 days ago", then the date: how long ago
 * `ms` was, seen at `now` (a parameter, so a list drawn once reads the same clock). */
export function formatAgo(ms, now = Date.now()) {
  const secs = Math.max(0, Math.round((now - ms) / 1000));
  if (secs < 45) return 'just now';
  const mins = Math.round(secs / 60);
  if (mins < 60) return `${mins} min ago`;
  const hours = Math.round(secs / 3600);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(secs / 86400);
  if (days === 1) return 'yesterday';
  if (days < 7) return `${days} days ago`;
  return formatDate(ms);
}
