//! A streamed ZIP of many files, for share links and account exports: store method (no
//! compression: it is fast, and most files people keep are compressed already), each entry's
//! CRC-32 computed as its verified bytes go out and written after them in a data descriptor,
//! the central directory at the end. Nothing is buffered beyond the chunks read ahead. A small
//! file of our own making (an export's index) can go in from memory: its CRC is known before it
//! is written, so its local header carries CRC and sizes and no descriptor follows it.
//!
//! ZIP64 only where needed, so a small archive stays a classic ZIP every unzipper reads: an
//! entry of 4 GiB or more gets ZIP64 sizes (local header field and an 8-byte descriptor), an
//! entry starting past 4 GiB a ZIP64 offset in the central directory, and more than 65,534
//! entries or a central directory past 4 GiB the ZIP64 end record and locator. Every size is
//! known before the first byte, so the archive's length is too ([`ZipPlan::len`]): downloads
//! get a `Content-Length` and a progress bar.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use wire::ChunkRef;

use super::stream::{self, ChunkReader, Out, ServeError};

/// The content of a file entry.
#[derive(Debug, Clone)]
pub struct Content {
    pub version_id: i64,
    pub size: u64,
    pub chunks: Vec<ChunkRef>,
}

/// What an entry holds.
#[derive(Debug, Clone)]
enum Body {
    Folder,
    /// A stored file version, read chunk by chunk as it streams.
    Chunks(Content),
    /// Bytes in memory, with their CRC-32.
    Bytes {
        data: Bytes,
        crc: u32,
    },
}

/// One entry: a file (stored content or bytes in memory) or a folder (`path` then ends
/// with `/`).
#[derive(Debug, Clone)]
pub struct ZipEntry {
    /// '/'-separated, relative, UTF-8.
    pub path: String,
    /// Milliseconds since the epoch.
    pub modified_at: i64,
    body: Body,
}

impl ZipEntry {
    pub fn file(path: impl Into<String>, modified_at: i64, content: Content) -> ZipEntry {
        ZipEntry {
            path: path.into(),
            modified_at,
            body: Body::Chunks(content),
        }
    }

    /// A file whose bytes are already in memory (small, and of the server's own making).
    pub fn bytes(path: impl Into<String>, modified_at: i64, data: Bytes) -> ZipEntry {
        let crc = crc32fast::hash(&data);
        ZipEntry {
            path: path.into(),
            modified_at,
            body: Body::Bytes { data, crc },
        }
    }

    /// A folder entry; a trailing `/` is added when missing.
    pub fn dir(path: impl Into<String>, modified_at: i64) -> ZipEntry {
        let mut path = path.into();
        if !path.ends_with('/') {
            path.push('/');
        }
        ZipEntry {
            path,
            modified_at,
            body: Body::Folder,
        }
    }

    fn size(&self) -> u64 {
        match &self.body {
            Body::Folder => 0,
            Body::Chunks(c) => c.size,
            Body::Bytes { data, .. } => data.len() as u64,
        }
    }

    /// The CRC and size a local header can carry: an in-memory file's; zeros for the others
    /// (a folder's are zero, a stored file's follow its data in a descriptor).
    fn known(&self) -> (u32, u64) {
        match &self.body {
            Body::Bytes { data, crc } => (*crc, data.len() as u64),
            Body::Folder | Body::Chunks(_) => (0, 0),
        }
    }

    /// An in-memory file's bytes.
    pub fn in_memory(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Bytes { data, .. } => Some(data),
            Body::Folder | Body::Chunks(_) => None,
        }
    }

    fn is_folder(&self) -> bool {
        matches!(self.body, Body::Folder)
    }
}

const LOCAL: u32 = 0x0403_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
const END: u32 = 0x0605_4b50;
const MAX32: u64 = 0xFFFF_FFFF;
const MAX16: u64 = 0xFFFF;
/// Bit 3: CRC and sizes follow the data; bit 11: the name is UTF-8.
const FLAGS_STREAMED: u16 = 0x0808;
/// Bit 11 alone: CRC and sizes are in the local header (folders, in-memory files).
const FLAGS_KNOWN: u16 = 0x0800;
/// Made by Unix (so the external attributes carry a mode), spec 4.5.
const MADE_BY: u16 = (3 << 8) | 45;
const ZIP64_EXTRA: u16 = 0x0001;
/// "UT": the modification time as Unix seconds, exact where DOS times are local and coarse.
const TIME_EXTRA: u16 = 0x5455;

#[derive(Debug, Clone)]
struct Planned {
    entry: ZipEntry,
    offset: u64,
    /// ZIP64 sizes in the local header and the descriptor.
    zip64: bool,
}

/// The layout of an archive, fixed before it streams.
#[derive(Debug, Clone)]
pub struct ZipPlan {
    entries: Vec<Planned>,
    cd_offset: u64,
    len: u64,
    force_zip64: bool,
}

impl ZipPlan {
    /// `force_zip64` writes ZIP64 records everywhere (tests of readers' ZIP64 paths).
    pub fn new(entries: Vec<ZipEntry>, force_zip64: bool) -> ZipPlan {
        let mut offset = 0u64;
        let mut planned = Vec::with_capacity(entries.len());
        for entry in entries {
            let zip64 = force_zip64 || entry.size() >= MAX32;
            let p = Planned {
                entry,
                offset,
                zip64,
            };
            offset += local_header(&p).len() as u64 + p.entry.size() + descriptor_len(&p);
            planned.push(p);
        }
        let mut plan = ZipPlan {
            entries: planned,
            cd_offset: offset,
            len: 0,
            force_zip64,
        };
        let crcs = vec![0; plan.entries.len()];
        plan.len = offset + plan.central(&crcs).len() as u64;
        plan
    }

    /// The archive's exact length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The central directory and end records, given every entry's CRC.
    fn central(&self, crcs: &[u32]) -> Bytes {
        let mut b = BytesMut::new();
        for (p, crc) in self.entries.iter().zip(crcs) {
            let size = p.entry.size();
            let sizes64 = self.force_zip64 || size >= MAX32;
            let offset64 = self.force_zip64 || p.offset >= MAX32;
            let mut zip64 = BytesMut::new();
            if sizes64 {
                zip64.put_u64_le(size);
                zip64.put_u64_le(size);
            }
            if offset64 {
                zip64.put_u64_le(p.offset);
            }
            let (dos_time, dos_date) = dos_time(p.entry.modified_at);
            let name = p.entry.path.as_bytes();
            let extra_len = if zip64.is_empty() { 0 } else { 4 + zip64.len() } + 9;
            b.put_u32_le(CENTRAL);
            b.put_u16_le(MADE_BY);
            b.put_u16_le(version_needed(p));
            b.put_u16_le(flags(&p.entry));
            b.put_u16_le(0); // stored
            b.put_u16_le(dos_time);
            b.put_u16_le(dos_date);
            b.put_u32_le(*crc);
            let size32 = if sizes64 { MAX32 } else { size } as u32;
            b.put_u32_le(size32);
            b.put_u32_le(size32);
            b.put_u16_le(name.len() as u16);
            b.put_u16_le(extra_len as u16);
            b.put_u16_le(0); // comment
            b.put_u16_le(0); // disk
            b.put_u16_le(0); // internal attributes
            b.put_u32_le(external_attributes(&p.entry));
            b.put_u32_le(if offset64 { MAX32 } else { p.offset } as u32);
            b.put_slice(name);
            if !zip64.is_empty() {
                b.put_u16_le(ZIP64_EXTRA);
                b.put_u16_le(zip64.len() as u16);
                b.put_slice(&zip64);
            }
            put_time_extra(&mut b, p.entry.modified_at);
        }
        let cd_len = b.len() as u64;
        let count = self.entries.len() as u64;
        let end64 =
            self.force_zip64 || count >= MAX16 || cd_len >= MAX32 || self.cd_offset >= MAX32;
        if end64 {
            let at = self.cd_offset + cd_len;
            b.put_u32_le(END64);
            b.put_u64_le(44);
            b.put_u16_le(MADE_BY);
            b.put_u16_le(45);
            b.put_u32_le(0);
            b.put_u32_le(0);
            b.put_u64_le(count);
            b.put_u64_le(count);
            b.put_u64_le(cd_len);
            b.put_u64_le(self.cd_offset);
            b.put_u32_le(LOCATOR64);
            b.put_u32_le(0);
            b.put_u64_le(at);
            b.put_u32_le(1);
        }
        let cap = |n: u64, max: u64| {
            if end64 && (self.force_zip64 || n >= max) {
                max
            } else {
                n
            }
        };
        b.put_u32_le(END);
        b.put_u16_le(0);
        b.put_u16_le(0);
        b.put_u16_le(cap(count, MAX16) as u16);
        b.put_u16_le(cap(count, MAX16) as u16);
        b.put_u32_le(cap(cd_len, MAX32) as u32);
        b.put_u32_le(cap(self.cd_offset, MAX32) as u32);
        b.put_u16_le(0);
        b.freeze()
    }

    /// The archive as a body stream: records as `Out::Meta`, file content as `Out::Data`
    /// (verified, to be metered), chunks read ahead across entries.
    pub fn stream(
        self,
        reader: Arc<dyn ChunkReader>,
    ) -> impl Stream<Item = Result<Out, ServeError>> + Send + 'static {
        let plan = Arc::new(self);
        let mut steps = Vec::new();
        for (i, p) in plan.entries.iter().enumerate() {
            steps.push(Step::Local(i));
            match &p.entry.body {
                Body::Folder => {}
                Body::Chunks(c) => {
                    for piece in stream::pieces(&c.chunks, 0, c.size) {
                        steps.push(Step::Piece(i, piece));
                    }
                    steps.push(Step::Descriptor(i));
                }
                Body::Bytes { .. } => steps.push(Step::Inline(i)),
            }
        }
        steps.push(Step::Central);
        let n = plan.entries.len();
        let ahead = reader.read_ahead();
        let state = Sums {
            plan: Arc::clone(&plan),
            crcs: vec![crc32fast::Hasher::new(); n],
            sent: vec![0; n],
        };
        futures::stream::iter(steps)
            .map(move |step| -> BoxFuture<'static, Result<Raw, ServeError>> {
                match step {
                    Step::Piece(i, piece) => {
                        let f = stream::fetch(&reader, piece);
                        Box::pin(async move { Ok(Raw::Data(i, f.await?)) })
                    }
                    Step::Local(i) => Box::pin(futures::future::ready(Ok(Raw::Local(i)))),
                    Step::Inline(i) => Box::pin(futures::future::ready(Ok(Raw::Inline(i)))),
                    Step::Descriptor(i) => Box::pin(futures::future::ready(Ok(Raw::Descriptor(i)))),
                    Step::Central => Box::pin(futures::future::ready(Ok(Raw::Central))),
                }
            })
            // Records are ready at once, so they count little against the read-ahead.
            .buffered(ahead + 2)
            .scan(state, |s, raw| futures::future::ready(Some(s.emit(raw))))
    }
}

enum Step {
    Local(usize),
    Inline(usize),
    Piece(usize, stream::Piece),
    Descriptor(usize),
    Central,
}

enum Raw {
    Local(usize),
    Inline(usize),
    Data(usize, Bytes),
    Descriptor(usize),
    Central,
}

/// What has gone out per entry, for the descriptors and the central directory.
struct Sums {
    plan: Arc<ZipPlan>,
    crcs: Vec<crc32fast::Hasher>,
    sent: Vec<u64>,
}

impl Sums {
    fn emit(&mut self, raw: Result<Raw, ServeError>) -> Result<Out, ServeError> {
        Ok(match raw? {
            Raw::Local(i) => Out::Meta(local_header(&self.plan.entries[i])),
            // The server's own bytes: nothing to verify or meter.
            Raw::Inline(i) => match &self.plan.entries[i].entry.body {
                Body::Bytes { data, .. } => Out::Meta(data.clone()),
                _ => unreachable!("inline steps only for in-memory files"),
            },
            Raw::Data(i, bytes) => {
                self.crcs[i].update(&bytes);
                self.sent[i] += bytes.len() as u64;
                let Body::Chunks(c) = &self.plan.entries[i].entry.body else {
                    unreachable!("data only for stored files");
                };
                Out::Data {
                    version_id: c.version_id,
                    size: c.size,
                    bytes,
                }
            }
            Raw::Descriptor(i) => {
                let p = &self.plan.entries[i];
                if self.sent[i] != p.entry.size() {
                    return Err(ServeError::Inconsistent(format!(
                        "the chunks of {:?} add up to {} bytes, not {}",
                        p.entry.path,
                        self.sent[i],
                        p.entry.size()
                    )));
                }
                let crc = self.crcs[i].clone().finalize();
                let mut b = BytesMut::new();
                b.put_u32_le(DESCRIPTOR);
                b.put_u32_le(crc);
                if p.zip64 {
                    b.put_u64_le(self.sent[i]);
                    b.put_u64_le(self.sent[i]);
                } else {
                    b.put_u32_le(self.sent[i] as u32);
                    b.put_u32_le(self.sent[i] as u32);
                }
                Out::Meta(b.freeze())
            }
            Raw::Central => {
                let crcs: Vec<u32> = (self.crcs.iter().zip(&self.plan.entries))
                    .map(|(h, p)| match &p.entry.body {
                        Body::Bytes { crc, .. } => *crc,
                        _ => h.clone().finalize(),
                    })
                    .collect();
                Out::Meta(self.plan.central(&crcs))
            }
        })
    }
}

fn flags(e: &ZipEntry) -> u16 {
    match e.body {
        Body::Chunks(_) => FLAGS_STREAMED,
        Body::Folder | Body::Bytes { .. } => FLAGS_KNOWN,
    }
}

fn version_needed(p: &Planned) -> u16 {
    if p.zip64 {
        45
    } else {
        20
    }
}

/// Unix mode in the high half (rw-r--r-- files, rwxr-xr-x folders), the DOS folder bit low.
fn external_attributes(e: &ZipEntry) -> u32 {
    if e.is_folder() {
        (0o040755 << 16) | 0x10
    } else {
        0o100644 << 16
    }
}

fn descriptor_len(p: &Planned) -> u64 {
    match (&p.entry.body, p.zip64) {
        (Body::Folder | Body::Bytes { .. }, _) => 0,
        (Body::Chunks(_), false) => 16,
        (Body::Chunks(_), true) => 24,
    }
}

/// A local header: CRC and sizes as far as known before the data (zero for a stored file,
/// whose follow in the descriptor), or the ZIP64 marker with them in the ZIP64 field.
fn local_header(p: &Planned) -> Bytes {
    let (dos_time, dos_date) = dos_time(p.entry.modified_at);
    let name = p.entry.path.as_bytes();
    let zip64 = p.zip64;
    let (crc, known) = p.entry.known();
    let extra_len = if zip64 { 20 } else { 0 } + 9;
    let mut b = BytesMut::with_capacity(30 + name.len() + extra_len);
    b.put_u32_le(LOCAL);
    b.put_u16_le(version_needed(p));
    b.put_u16_le(flags(&p.entry));
    b.put_u16_le(0);
    b.put_u16_le(dos_time);
    b.put_u16_le(dos_date);
    b.put_u32_le(crc);
    let size32 = if zip64 { MAX32 } else { known } as u32;
    b.put_u32_le(size32);
    b.put_u32_le(size32);
    b.put_u16_le(name.len() as u16);
    b.put_u16_le(extra_len as u16);
    b.put_slice(name);
    if zip64 {
        b.put_u16_le(ZIP64_EXTRA);
        b.put_u16_le(16);
        b.put_u64_le(known);
        b.put_u64_le(known);
    }
    put_time_extra(&mut b, p.entry.modified_at);
    b.freeze()
}

fn put_time_extra(b: &mut BytesMut, ms: i64) {
    b.put_u16_le(TIME_EXTRA);
    b.put_u16_le(5);
    b.put_u8(1); // modification time present
    b.put_u32_le((ms.div_euclid(1000)).clamp(0, u32::MAX as i64) as u32);
}

/// MS-DOS time and date (UTC, two-second grain), clamped to what they can say (1980–2107).
fn dos_time(ms: i64) -> (u16, u16) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    if y < 1980 {
        return (0, (1 << 5) | 1);
    }
    if y > 2107 {
        return ((23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31);
    }
    let time = ((t / 3600) << 11) | (((t / 60) % 60) << 5) | ((t % 60) / 2);
    let date = ((y - 1980) << 9) | ((m as i64) << 5) | d as i64;
    (time as u16, date as u16)
}

/// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[path = "zip_tests.rs"]
mod tests;

/// The answer carrying a zip body of `len` bytes, saved as `name`: no ranges (the bytes are
/// made as they go), cached as `cache` says.
pub fn response(
    body: axum::body::Body,
    len: u64,
    name: &str,
    cache: &'static str,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut r = axum::response::Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_DISPOSITION,
        super::content_disposition(super::Disposition::Attachment, name),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}
