// A small streaming ZIP writer, store-only (no compression: most files people sync are already
// compressed, and storing keeps it fast and simple). Each entry's CRC-32 and sizes follow its
// data in a data descriptor, so nothing is buffered; the central directory is written at the
// end. Past the classic limits (4 GiB, 65,535 entries) it writes ZIP64 records, but only where
// they are needed: a small archive stays a classic ZIP that every unzipper reads.

// CRC-32 by eight bytes a step ("slicing-by-8"): table k maps a byte to its CRC contribution k
// bytes further on. The CRC is the one CPU cost of a store-only zip, and this is ~3× the
// byte-at-a-time loop.
const T = new Uint32Array(8 * 256);
for (let n = 0; n < 256; n += 1) {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c >>> 0;
}
for (let n = 0; n < 256; n += 1) {
  for (let k = 1; k < 8; k += 1) T[k * 256 + n] = (T[(k - 1) * 256 + n] >>> 8) ^ T[T[(k - 1) * 256 + n] & 0xff];
}

export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  let i = 0;
  const fast = bytes.length - (bytes.length % 8);
  for (; i < fast; i += 8) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = T[1792 + (c & 0xff)] ^ T[1536 + ((c >>> 8) & 0xff)] ^ T[1280 + ((c >>> 16) & 0xff)] ^ T[1024 + (c >>> 24)]
      ^ T[768 + bytes[i + 4]] ^ T[512 + bytes[i + 5]] ^ T[256 + bytes[i + 6]] ^ T[bytes[i + 7]];
  }
  for (; i < bytes.length; i += 1) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const MAX32 = 0xffffffff; // also the "look in the ZIP64 field" marker
const MAX16 = 0xffff;
const FLAGS = 0x0808; // bit 3: sizes in a data descriptor; bit 11: names are UTF-8
const ZIP64_EXTRA = 0x0001;

function dosTime(ms) {
  const d = new Date(ms);
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2);
  const date = (Math.max(0, d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return { time, date };
}

/** A little-endian record builder (sizes above 4 GiB go through BigInt). */
function record(length) {
  const v = new DataView(new ArrayBuffer(length));
  return {
    v,
    u16: (at, n) => v.setUint16(at, n, true),
    u32: (at, n) => v.setUint32(at, n, true),
    u64: (at, n) => v.setBigUint64(at, BigInt(n), true),
    bytes: () => new Uint8Array(v.buffer),
  };
}

export class ZipWriter {
  /**
   * `write(Uint8Array)` may return a promise: it is awaited (back-pressure).
   * `zip64: true` writes ZIP64 records even where classic ones would do (for tests and for
   * readers that want them).
   */
  constructor(write, { zip64 = false } = {}) {
    this.write = write;
    this.force64 = zip64;
    this.offset = 0;
    this.entries = [];
  }

  async out(bytes) {
    this.offset += bytes.length;
    await this.write(bytes);
  }

  /**
   * The data descriptor's size fields are 4 or 8 bytes, and a reader learns which from the
   * local header, written before the data: so an entry whose size is unknown or may reach
   * 4 GiB announces ZIP64 up front.
   */
  async entry(path, modifiedMs, isDir, feed, sizeHint) {
    const name = new TextEncoder().encode(isDir && !path.endsWith('/') ? `${path}/` : path);
    const { time, date } = dosTime(modifiedMs || Date.now());
    const zip64 = this.force64 || (!isDir && !(sizeHint < MAX32));
    const e = { name, time, date, crc: 0, size: 0, offset: this.offset, isDir, zip64 };
    const h = record(30 + name.length + (zip64 ? 20 : 0));
    h.u32(0, 0x04034b50);
    h.u16(4, zip64 ? 45 : 20);
    h.u16(6, FLAGS);
    h.u16(8, 0); // stored
    h.u16(10, time);
    h.u16(12, date);
    // crc and sizes (14..25) stay 0: they follow in the data descriptor.
    h.u16(26, name.length);
    h.u16(28, zip64 ? 20 : 0);
    const header = h.bytes();
    header.set(name, 30);
    if (zip64) {
      // Original and compressed size, both 0 here: this field only says "8-byte sizes follow".
      h.u16(30 + name.length, ZIP64_EXTRA);
      h.u16(32 + name.length, 16);
    }
    await this.out(header);
    if (feed) {
      await feed(async (bytes) => {
        if (!e.zip64 && e.size + bytes.length >= MAX32) {
          throw new Error(`${path} grew past 4 GiB after the zip announced it smaller.`);
        }
        e.crc = crc32(bytes, e.crc);
        e.size += bytes.length;
        await this.out(bytes);
      });
    }
    const d = record(zip64 ? 24 : 16);
    d.u32(0, 0x08074b50);
    d.u32(4, e.crc);
    if (zip64) { d.u64(8, e.size); d.u64(16, e.size); } else { d.u32(8, e.size); d.u32(12, e.size); }
    await this.out(d.bytes());
    this.entries.push(e);
  }

  addFolder(path, modifiedMs) { return this.entry(path, modifiedMs, true, null, 0); }

  /**
   * `feed(push)` calls `await push(bytes)` for each piece of the file, in order. `size` is what
   * the file is expected to hold; without it the entry is written as ZIP64, to be safe.
   */
  addFile(path, modifiedMs, feed, size) { return this.entry(path, modifiedMs, false, feed, size); }

  /** The central directory record of `e`, with a ZIP64 extra field holding what overflows. */
  central(e) {
    const all = this.force64;
    const big = [];
    if (all || e.size >= MAX32) big.push(e.size, e.size); // original, then compressed
    if (all || e.offset >= MAX32) big.push(e.offset);
    const extra = big.length ? 4 + 8 * big.length : 0;
    const c = record(46 + e.name.length + extra);
    const version = e.zip64 || big.length ? 45 : 20;
    c.u32(0, 0x02014b50);
    c.u16(4, version); // made by: MS-DOS attributes, this spec version
    c.u16(6, version);
    c.u16(8, FLAGS);
    c.u16(10, 0);
    c.u16(12, e.time);
    c.u16(14, e.date);
    c.u32(16, e.crc);
    c.u32(20, all || e.size >= MAX32 ? MAX32 : e.size);
    c.u32(24, all || e.size >= MAX32 ? MAX32 : e.size);
    c.u16(28, e.name.length);
    c.u16(30, extra);
    c.u32(38, e.isDir ? 0x10 : 0);
    c.u32(42, all || e.offset >= MAX32 ? MAX32 : e.offset);
    const out = c.bytes();
    out.set(e.name, 46);
    if (extra) {
      let at = 46 + e.name.length;
      c.u16(at, ZIP64_EXTRA);
      c.u16(at + 2, extra - 4);
      at += 4;
      for (const n of big) { c.u64(at, n); at += 8; }
    }
    return out;
  }

  async finish() {
    const start = this.offset;
    for (const e of this.entries) await this.out(this.central(e));
    const size = this.offset - start;
    const count = this.entries.length;
    if (this.force64 || count >= MAX16 || size >= MAX32 || start >= MAX32) {
      const at = this.offset;
      const z = record(56);
      z.u32(0, 0x06064b50);
      z.u64(4, 44); // what follows this field
      z.u16(12, 45);
      z.u16(14, 45);
      // disk numbers (16..23) are 0: one disk
      z.u64(24, count);
      z.u64(32, count);
      z.u64(40, size);
      z.u64(48, start);
      await this.out(z.bytes());
      const l = record(20);
      l.u32(0, 0x07064b50);
      l.u64(8, at);
      l.u32(16, 1); // disks in all
      await this.out(l.bytes());
    }
    const end = record(22);
    end.u32(0, 0x06054b50);
    end.u16(8, Math.min(count, MAX16));
    end.u16(10, Math.min(count, MAX16));
    end.u32(12, Math.min(size, MAX32));
    end.u32(16, Math.min(start, MAX32));
    await this.out(end.bytes());
  }
}
