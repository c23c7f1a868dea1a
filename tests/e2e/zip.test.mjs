// The streamed folder zip (www/js/zip.js) past the classic limits, no browser needed: an
// archive of more than 65,535 entries and one whose offsets pass 4 GiB get ZIP64 records and
// open in independent readers (Python's zipfile, Info-ZIP's unzip), while a small archive stays
// classic. The 4 GiB archive is never held: its zero-filled data is only counted, and the
// readers get a sparse file with just the headers written.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, ftruncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZipWriter, crc32 } from '../../www/js/zip.js';

const scratch = mkdtempSync(join(tmpdir(), 'cairn-zip-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const GiB = 1024 ** 3;
const SIG = { local: 0x04034b50, descriptor: 0x08074b50, central: 0x02014b50, end: 0x06054b50, end64: 0x06064b50, locator64: 0x07064b50 };

/** A sink that keeps every write of at most `keep` bytes (headers, descriptors, the central
 * directory) with its offset, and only counts bigger ones (file data). */
function sparseSink(keep = 1 << 16) {
  const pieces = [];
  let size = 0;
  return {
    pieces,
    get size() { return size; },
    write(bytes) {
      if (bytes.length <= keep) pieces.push({ at: size, bytes: Buffer.from(bytes) });
      size += bytes.length;
    },
    /** `length` bytes at `at`, from kept pieces (which must cover the range). */
    read(at, length) {
      const out = Buffer.alloc(length);
      let filled = 0;
      // Pieces are in offset order: start from the last one that begins at or before `at`.
      let lo = 0;
      let hi = pieces.length - 1;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (pieces[mid].at <= at) lo = mid; else hi = mid - 1; }
      for (let i = lo; i < pieces.length && pieces[i].at < at + length; i += 1) {
        const p = pieces[i];
        const from = Math.max(at, p.at);
        const to = Math.min(at + length, p.at + p.bytes.length);
        if (from < to) { p.bytes.copy(out, from - at, from - p.at, to - p.at); filled += to - from; }
      }
      assert.equal(filled, length, `bytes ${at}..${at + length} were not kept`);
      return out;
    },
  };
}

const u64 = (b, at) => Number(b.readBigUInt64LE(at));

/** Parses an archive back through `read(at, length)` and checks every structure against the
 * others: end records, central directory, local headers, data descriptors. */
function parse(read, total) {
  const end = read(total - 22, 22);
  assert.equal(end.readUInt32LE(0), SIG.end);
  let count = end.readUInt16LE(10);
  let cdSize = end.readUInt32LE(12);
  let cdStart = end.readUInt32LE(16);
  let zip64 = null;
  if (total >= 42 && read(total - 42, 4).readUInt32LE(0) === SIG.locator64) {
    const loc = read(total - 42, 20);
    assert.equal(loc.readUInt32LE(16), 1, 'one disk');
    const at = u64(loc, 8);
    assert.equal(at, total - 42 - 56, 'the locator points at the ZIP64 end record');
    const z = read(at, 56);
    assert.equal(z.readUInt32LE(0), SIG.end64);
    assert.equal(u64(z, 4), 44);
    assert.equal(u64(z, 24), u64(z, 32));
    zip64 = { count: u64(z, 32), size: u64(z, 40), start: u64(z, 48) };
    // The classic record holds the real value or, where it overflows, the marker.
    for (const [classic, real, max] of [[count, zip64.count, 0xffff], [cdSize, zip64.size, 0xffffffff], [cdStart, zip64.start, 0xffffffff]]) {
      assert.equal(classic, Math.min(real, max));
    }
    ({ count, size: cdSize, start: cdStart } = zip64);
  }
  assert.equal(cdStart + cdSize + (zip64 ? 76 : 0) + 22, total, 'nothing between the directory and its end');
  const cd = read(cdStart, cdSize);
  const entries = [];
  let p = 0;
  for (let i = 0; i < count; i += 1) {
    assert.equal(cd.readUInt32LE(p), SIG.central);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const e = {
      version: cd.readUInt16LE(p + 6),
      flags: cd.readUInt16LE(p + 8),
      crc: cd.readUInt32LE(p + 16),
      csize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      offset: cd.readUInt32LE(p + 42),
      name: cd.toString('utf8', p + 46, p + 46 + nameLen),
      extra64: false,
    };
    let x = p + 46 + nameLen;
    while (x < p + 46 + nameLen + extraLen) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 1) {
        e.extra64 = true;
        let f = x + 4;
        for (const k of ['size', 'csize', 'offset']) {
          if (e[k] === 0xffffffff) { e[k] = u64(cd, f); f += 8; }
        }
        assert.equal(f, x + 4 + len, 'the ZIP64 field holds exactly the overflowing values');
      }
      x += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    assert.equal(e.size, e.csize, 'stored');
    // Local header and data descriptor: same name, same CRC and sizes, 8-byte sizes exactly
    // when the local header carries a ZIP64 field.
    const lh = read(e.offset, 30);
    assert.equal(lh.readUInt32LE(0), SIG.local);
    assert.equal(lh.readUInt16LE(6), e.flags);
    const lName = lh.readUInt16LE(26);
    const lExtra = lh.readUInt16LE(28);
    assert.equal(read(e.offset + 30, lName).toString('utf8'), e.name);
    e.local64 = lExtra > 0 && read(e.offset + 30 + lName, 2).readUInt16LE(0) === 1;
    assert.ok(e.version >= (e.local64 || e.extra64 ? 45 : 20));
    const dAt = e.offset + 30 + lName + lExtra + e.size;
    const d = read(dAt, e.local64 ? 24 : 16);
    assert.equal(d.readUInt32LE(0), SIG.descriptor);
    assert.equal(d.readUInt32LE(4), e.crc);
    const [s1, s2] = e.local64 ? [u64(d, 8), u64(d, 16)] : [d.readUInt32LE(8), d.readUInt32LE(12)];
    assert.deepEqual([s1, s2], [e.size, e.size]);
    entries.push(e);
  }
  assert.equal(p, cdSize);
  return { entries, zip64 };
}

/** Python's zipfile (checks every CRC) and `unzip -t` on a file; answers Python's view. */
function readers(path, { unzip = true } = {}) {
  const out = execFileSync('python3', ['-c', `
import zipfile, sys, json
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
assert bad is None, bad
infos = z.infolist()
print(json.dumps({"count": len(infos), "first": [[i.filename, i.file_size, i.CRC] for i in infos[:4]], "last": [infos[-1].filename, infos[-1].file_size, infos[-1].CRC]}))
`, path], { maxBuffer: 1 << 20 }).toString();
  if (unzip) {
    const t = execFileSync('unzip', ['-tqq', path]).toString();
    assert.equal(t.trim(), '', `unzip -t complained: ${t}`);
  }
  return JSON.parse(out);
}

async function writeAll(zip, files) {
  for (const f of files) {
    if (f.dir) await zip.addFolder(f.name, 0);
    else await zip.addFile(f.name, Date.UTC(2024, 4, 1), async (push) => { await push(f.bytes); }, f.bytes.length);
  }
  await zip.finish();
}

function toFile(name, pieces) {
  const path = join(scratch, name);
  writeFileSync(path, Buffer.concat(pieces.map((p) => p.bytes)));
  return path;
}

const small = [
  { name: 'a.txt', bytes: Buffer.from('alpha\n') },
  { name: 'sub', dir: true },
  { name: 'sub/été.bin', bytes: Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff)) },
  { name: 'empty.txt', bytes: Buffer.alloc(0) },
];

test('crc32 matches zlib on odd lengths and split inputs', () => {
  const data = Buffer.from(Array.from({ length: 1001 }, (_, i) => (i * 31 + 7) & 0xff));
  const want = JSON.parse(execFileSync('python3', ['-c', 'import zlib,sys,json; print(json.dumps([zlib.crc32(bytes(range(0))), zlib.crc32(bytes((i*31+7)&255 for i in range(1001)))]))']).toString());
  assert.deepEqual([crc32(new Uint8Array(0)), crc32(data)], want);
  assert.equal(crc32(data.subarray(13), crc32(data.subarray(0, 13))), want[1]);
});

test('a small archive stays classic ZIP (no ZIP64 record anywhere)', async () => {
  const sink = sparseSink(Infinity);
  await writeAll(new ZipWriter((b) => sink.write(b)), small);
  const { entries, zip64 } = parse(sink.read.bind(sink), sink.size);
  assert.equal(zip64, null);
  assert.ok(entries.every((e) => !e.local64 && !e.extra64 && e.version === 20));
  const py = readers(toFile('small.zip', sink.pieces));
  assert.equal(py.count, 4);
  assert.deepEqual(py.first[2].slice(0, 2), ['sub/été.bin', 70_000]);
});

test('a small archive with ZIP64 forced opens in zipfile and unzip', async () => {
  const sink = sparseSink(Infinity);
  await writeAll(new ZipWriter((b) => sink.write(b), { zip64: true }), small);
  const { entries, zip64 } = parse(sink.read.bind(sink), sink.size);
  assert.deepEqual(zip64, { count: 4, size: zip64.size, start: zip64.start });
  assert.ok(entries.every((e) => e.local64 && e.extra64));
  const py = readers(toFile('forced64.zip', sink.pieces));
  assert.deepEqual(py.first.map((f) => f.slice(0, 2)), [['a.txt', 6], ['sub/', 0], ['sub/été.bin', 70_000], ['empty.txt', 0]]);
  assert.equal(py.first[0][2], crc32(small[0].bytes));
});

test('more than 65,535 entries: ZIP64 end records, every entry readable', { timeout: 120_000 }, async () => {
  const sink = sparseSink(Infinity);
  const zip = new ZipWriter((b) => sink.write(b));
  const N = 70_000;
  for (let i = 0; i < N; i += 1) {
    const bytes = Buffer.from(`file ${i}\n`);
    await zip.addFile(`many/${String(i).padStart(5, '0')}.txt`, 0, async (push) => { await push(bytes); }, bytes.length);
  }
  await zip.finish();
  const { entries, zip64 } = parse(sink.read.bind(sink), sink.size);
  assert.equal(zip64.count, N);
  assert.equal(entries.length, N);
  assert.ok(entries.every((e) => !e.local64 && !e.extra64), 'small entries need no ZIP64 fields');
  const py = readers(toFile('many.zip', sink.pieces));
  assert.equal(py.count, N);
  assert.deepEqual(py.last.slice(0, 2), ['many/69999.txt', 11]);
});

test('offsets past 4 GiB: ZIP64 sizes and offsets, streamed without holding the data', { timeout: 300_000 }, async () => {
  const sink = sparseSink();
  const zip = new ZipWriter((b) => sink.write(b));
  const piece = new Uint8Array(16 << 20);
  const bigSize = 4 * GiB + 1_234_567;
  let maxHeld = 0;
  await zip.addFile('first.txt', 0, async (push) => { await push(Buffer.from('first\n')); }, 6);
  await zip.addFile('zeros.bin', 0, async (push) => {
    for (let left = bigSize; left > 0; left -= piece.length) await push(piece.subarray(0, Math.min(left, piece.length)));
  }, bigSize);
  await zip.addFolder('after', 0);
  await zip.addFile('after/last.txt', 0, async (push) => { await push(Buffer.from('last\n')); }, 5);
  await zip.finish();
  for (const p of sink.pieces) maxHeld = Math.max(maxHeld, p.bytes.length);
  assert.ok(maxHeld < 1024, `only headers and records were small writes (largest ${maxHeld})`);

  const { entries, zip64 } = parse(sink.read.bind(sink), sink.size);
  assert.ok(zip64.start > 4 * GiB);
  const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
  assert.equal(byName['first.txt'].extra64, false, 'an entry below 4 GiB in a big archive stays classic');
  assert.equal(byName['zeros.bin'].size, bigSize);
  assert.ok(byName['zeros.bin'].local64 && byName['zeros.bin'].extra64);
  assert.ok(byName['after/last.txt'].offset > 4 * GiB && byName['after/last.txt'].extra64 && !byName['after/last.txt'].local64);
  const zerosCrc = Number(execFileSync('python3', ['-c', `
import zlib
c, b, left = 0, bytes(1 << 24), ${bigSize}
while left:
    n = min(left, len(b)); c = zlib.crc32(b[:n], c); left -= n
print(c)`]).toString());
  assert.equal(byName['zeros.bin'].crc, zerosCrc);

  // The same bytes as a sparse file: headers written, data left as holes (zeros).
  const path = join(scratch, 'big.zip');
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, sink.size);
    for (const p of sink.pieces) writeSync(fd, p.bytes, 0, p.bytes.length, p.at);
  } finally { closeSync(fd); }
  assert.equal(statSync(path).size, sink.size);
  const py = readers(path, { unzip: false });
  assert.equal(py.count, 4);
  assert.deepEqual(py.first.map((f) => f.slice(0, 2)), [['first.txt', 6], ['zeros.bin', bigSize], ['after/', 0], ['after/last.txt', 5]]);
  rmSync(path);
});
