// A small streaming ZIP writer, store-only (no compression: most files people sync are already
// compressed, and storing keeps it fast and simple). Each entry's CRC-32 and sizes follow its
// data in a data descriptor, so nothing is buffered; the central directory is written at the
// end. Classic ZIP limits apply (no ZIP64): under 4 GiB in total and 65,535 entries.
const TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i += 1) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const LIMIT = 0xffffffff;
const FLAGS = 0x0808; // bit 3: sizes in a data descriptor; bit 11: names are UTF-8

function dosTime(ms) {
  const d = new Date(ms);
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2);
  const date = (Math.max(0, d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return { time, date };
}

export class ZipWriter {
  /** `write(Uint8Array)` may return a promise: it is awaited (back-pressure). */
  constructor(write) {
    this.write = write;
    this.offset = 0;
    this.entries = [];
  }

  async out(bytes) {
    this.offset += bytes.length;
    if (this.offset > LIMIT) throw new Error('A zip over 4 GiB is not supported; download the files one by one.');
    await this.write(bytes);
  }

  async entry(path, modifiedMs, isDir, feed) {
    if (this.entries.length >= 0xffff) throw new Error('A zip holds at most 65,535 entries.');
    const name = new TextEncoder().encode(isDir && !path.endsWith('/') ? `${path}/` : path);
    const { time, date } = dosTime(modifiedMs || Date.now());
    const e = { name, time, date, crc: 0, size: 0, offset: this.offset, isDir };
    const h = new DataView(new ArrayBuffer(30));
    h.setUint32(0, 0x04034b50, true);
    h.setUint16(4, 20, true);
    h.setUint16(6, FLAGS, true);
    h.setUint16(8, 0, true); // stored
    h.setUint16(10, time, true);
    h.setUint16(12, date, true);
    h.setUint16(26, name.length, true);
    await this.out(new Uint8Array(h.buffer));
    await this.out(name);
    if (feed) {
      await feed(async (bytes) => {
        e.crc = crc32(bytes, e.crc);
        e.size += bytes.length;
        await this.out(bytes);
      });
    }
    const d = new DataView(new ArrayBuffer(16));
    d.setUint32(0, 0x08074b50, true);
    d.setUint32(4, e.crc, true);
    d.setUint32(8, e.size, true);
    d.setUint32(12, e.size, true);
    await this.out(new Uint8Array(d.buffer));
    this.entries.push(e);
  }

  addFolder(path, modifiedMs) { return this.entry(path, modifiedMs, true, null); }

  /** `feed(push)` calls `await push(bytes)` for each piece of the file, in order. */
  addFile(path, modifiedMs, feed) { return this.entry(path, modifiedMs, false, feed); }

  async finish() {
    const start = this.offset;
    for (const e of this.entries) {
      const c = new DataView(new ArrayBuffer(46));
      c.setUint32(0, 0x02014b50, true);
      c.setUint16(4, 20, true);
      c.setUint16(6, 20, true);
      c.setUint16(8, FLAGS, true);
      c.setUint16(10, 0, true);
      c.setUint16(12, e.time, true);
      c.setUint16(14, e.date, true);
      c.setUint32(16, e.crc, true);
      c.setUint32(20, e.size, true);
      c.setUint32(24, e.size, true);
      c.setUint16(28, e.name.length, true);
      c.setUint32(38, e.isDir ? 0x10 : 0, true);
      c.setUint32(42, e.offset, true);
      await this.out(new Uint8Array(c.buffer));
      await this.out(e.name);
    }
    const end = new DataView(new ArrayBuffer(22));
    end.setUint32(0, 0x06054b50, true);
    end.setUint16(8, this.entries.length, true);
    end.setUint16(10, this.entries.length, true);
    end.setUint32(12, this.offset - start, true);
    end.setUint32(16, start, true);
    await this.out(new Uint8Array(end.buffer));
  }
}
