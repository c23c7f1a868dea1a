//! The ZIP writer checked by independent readers: Python's `zipfile` (every CRC) and Info-ZIP's
//! `unzip -t`, on classic archives, a small archive with ZIP64 forced, and a > 4 GiB one
//! written as a sparse file (its zero-filled content is skipped, not written).

use std::io::{Seek, SeekFrom, Write};
use std::process::Command;
use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;

use super::*;
use crate::serve::stream::tests::MemChunks;

fn bytes_of(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Writes the archive to `path`: records and content as they come, except the content of
/// version `sparse`, which is zeros, skipped over (a hole). Answers the bytes produced.
async fn write(
    plan: ZipPlan,
    reader: Arc<dyn ChunkReader>,
    path: &std::path::Path,
    sparse: Option<i64>,
) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let mut s = Box::pin(plan.stream(reader));
    let mut at = 0u64;
    while let Some(item) = s.next().await {
        match item.unwrap() {
            Out::Data {
                bytes, version_id, ..
            } if Some(version_id) == sparse => {
                assert_eq!(bytes.first(), Some(&0));
                at += bytes.len() as u64;
                f.seek(SeekFrom::Start(at)).unwrap();
            }
            out => {
                let b = out.into_bytes();
                f.write_all(&b).unwrap();
                at += b.len() as u64;
            }
        }
    }
    f.set_len(at).unwrap();
    at
}

/// Python's view: every entry with its size, CRC, date, directory flag and (unless `skip`
/// names it) its content in hex; `testzip()` checked every CRC first.
fn python(path: &std::path::Path, skip: &str) -> Value {
    let script = r#"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
skip = sys.argv[2]
bad = None if skip else z.testzip()
out = {"bad": bad, "entries": []}
for i in z.infolist():
    e = {"name": i.filename, "size": i.file_size, "crc": i.CRC, "dir": i.is_dir(),
         "date": list(i.date_time), "flags": i.flag_bits, "offset": i.header_offset}
    if i.filename != skip:
        e["hex"] = z.read(i).hex()
    out["entries"].append(e)
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap(), skip])
        .output()
        .expect("python3 is needed for the zip tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `unzip -t` on the archive (or the named members only).
fn unzip_test(path: &std::path::Path, members: &[&str]) {
    let out = Command::new("unzip")
        .arg("-tqq")
        .arg(path)
        .args(members)
        .output()
        .expect("unzip is needed for the zip tests (cargo xtask setup installs it)");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.trim().is_empty(),
        "unzip -t: {text}"
    );
}

fn sample(mem: &MemChunks) -> (Vec<ZipEntry>, Vec<(String, Vec<u8>)>) {
    let a = bytes_of(1, 1000);
    let b = bytes_of(2, 70_000);
    let t = 1_704_164_645_678; // 2024-01-02 03:04:05.678 UTC
    let mut files = Vec::new();
    let mut entries = Vec::new();
    for (i, (path, data, chunk)) in [
        ("a.txt", a.clone(), 300),
        ("docs/b.bin", b.clone(), 16_384),
        ("docs/empty", Vec::new(), 1),
        ("Ünïcode 😀/名前.txt", a[..10].to_vec(), 4),
    ]
    .into_iter()
    .enumerate()
    {
        let chunks = mem.file(&data, chunk);
        entries.push(ZipEntry::file(
            path,
            t,
            Content {
                version_id: i as i64,
                size: data.len() as u64,
                chunks,
            },
        ));
        files.push((path.to_owned(), data));
    }
    entries.insert(1, ZipEntry::dir("docs", t));
    entries.push(ZipEntry::dir("empty folder/", t));
    (entries, files)
}

fn check_sample(v: &Value, files: &[(String, Vec<u8>)]) {
    assert_eq!(v["bad"], Value::Null);
    let entries = v["entries"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "a.txt",
            "docs/",
            "docs/b.bin",
            "docs/empty",
            "Ünïcode 😀/名前.txt",
            "empty folder/"
        ]
    );
    for (name, data) in files {
        let e = entries.iter().find(|e| e["name"] == name.as_str()).unwrap();
        assert_eq!(e["hex"], hex::encode(data), "{name}");
        assert_eq!(e["size"], data.len(), "{name}");
        assert_eq!(e["dir"], false);
        assert_eq!(e["date"], serde_json::json!([2024, 1, 2, 3, 4, 4]));
        assert_eq!(e["flags"].as_u64().unwrap() & 0x0808, 0x0808);
    }
    for d in ["docs/", "empty folder/"] {
        let e = entries.iter().find(|e| e["name"] == d).unwrap();
        assert_eq!(e["dir"], true);
        assert_eq!(e["size"], 0);
    }
}

#[tokio::test]
async fn classic_archives_open_in_zipfile_and_unzip() {
    let mem = Arc::new(MemChunks::default());
    let (entries, files) = sample(&mem);
    let plan = ZipPlan::new(entries, false);
    let want = plan.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    assert_eq!(write(plan, mem, &path, None).await, want);
    let raw = std::fs::read(&path).unwrap();
    // Classic: no ZIP64 end record, version 2.0 everywhere.
    assert!(!raw.windows(4).any(|w| w == END64.to_le_bytes()));
    check_sample(&python(&path, ""), &files);
    unzip_test(&path, &[]);
}

#[tokio::test]
async fn a_small_archive_with_zip64_forced_opens_too() {
    let mem = Arc::new(MemChunks::default());
    let (entries, files) = sample(&mem);
    let plan = ZipPlan::new(entries, true);
    let want = plan.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    assert_eq!(write(plan, mem, &path, None).await, want);
    let raw = std::fs::read(&path).unwrap();
    assert!(raw.windows(4).any(|w| w == END64.to_le_bytes()));
    assert!(raw.windows(4).any(|w| w == LOCATOR64.to_le_bytes()));
    check_sample(&python(&path, ""), &files);
    unzip_test(&path, &[]);
}

#[tokio::test]
async fn an_empty_archive_is_an_end_record_alone() {
    let mem: Arc<dyn ChunkReader> = Arc::new(MemChunks::default());
    let plan = ZipPlan::new(Vec::new(), false);
    assert_eq!(plan.len(), 22);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.zip");
    assert_eq!(write(plan, mem, &path, None).await, 22);
    assert_eq!(python(&path, "")["entries"], serde_json::json!([]));
}

#[tokio::test]
async fn a_bad_chunk_ends_the_archive_before_its_bytes() {
    let mem = Arc::new(MemChunks::default());
    let data = bytes_of(3, 5000);
    let chunks = mem.file(&data, 1000);
    let mut rotten = data[2000..3000].to_vec();
    rotten[0] ^= 0x80;
    mem.0.lock().unwrap().insert(chunks[2].hash, rotten.into());
    let plan = ZipPlan::new(
        vec![ZipEntry::file(
            "x",
            0,
            Content {
                version_id: 1,
                size: 5000,
                chunks,
            },
        )],
        false,
    );
    let mut s = Box::pin(plan.stream(mem));
    let mut content = Vec::new();
    let err = loop {
        match s.next().await.unwrap() {
            Ok(Out::Data { bytes, .. }) => content.extend_from_slice(&bytes),
            Ok(Out::Meta(_)) => {}
            Err(e) => break e,
        }
    };
    assert!(matches!(err, ServeError::Corrupt(_)));
    assert_eq!(content, &data[..2000]);
}

/// An in-memory file first (as an export's index goes), then stored ones: its CRC and sizes
/// sit in its local header (no descriptor), and readers check them like any other.
#[tokio::test]
async fn an_in_memory_entry_carries_its_crc_up_front() {
    for force_zip64 in [false, true] {
        let mem = Arc::new(MemChunks::default());
        let (mut entries, mut files) = sample(&mem);
        let index = br#"{"format":1,"files":[]}"#.to_vec();
        let t = 1_704_164_645_678;
        entries.insert(0, ZipEntry::bytes("index.json", t, index.clone().into()));
        entries.push(ZipEntry::bytes("empty.json", t, Bytes::new()));
        files.push(("index.json".to_owned(), index.clone()));
        files.push(("empty.json".to_owned(), Vec::new()));
        let plan = ZipPlan::new(entries, force_zip64);
        let want = plan.len();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.zip");
        assert_eq!(write(plan, mem, &path, None).await, want);
        let raw = std::fs::read(&path).unwrap();
        // The local header: signature, version, flags (bit 3 clear), method, time, date, CRC.
        assert_eq!(raw[..4], LOCAL.to_le_bytes());
        assert_eq!(u16::from_le_bytes([raw[6], raw[7]]), FLAGS_KNOWN);
        let crc = u32::from_le_bytes(raw[14..18].try_into().unwrap());
        assert_eq!(crc, crc32fast::hash(&index));

        let v = python(&path, "");
        assert_eq!(v["bad"], Value::Null);
        let entries = v["entries"].as_array().unwrap();
        assert_eq!(entries[0]["name"], "index.json");
        assert_eq!(entries[0]["flags"].as_u64().unwrap() & 0x08, 0);
        assert_eq!(entries[0]["crc"], crc);
        for (name, data) in &files {
            let e = entries.iter().find(|e| e["name"] == name.as_str()).unwrap();
            assert_eq!(e["hex"], hex::encode(data), "{name}");
        }
        unzip_test(&path, &[]);
    }
}

#[test]
fn dos_times_are_utc_and_clamped() {
    // 2024-01-02 03:04:05 UTC
    assert_eq!(
        dos_time(1_704_164_645_678),
        ((3 << 11) | (4 << 5) | 2, (44 << 9) | (1 << 5) | 2)
    );
    // 2000-02-29 23:59:59
    assert_eq!(
        dos_time(951_868_799_000),
        ((23 << 11) | (59 << 5) | 29, (20 << 9) | (2 << 5) | 29)
    );
    assert_eq!(dos_time(0), (0, (1 << 5) | 1));
    assert_eq!(dos_time(-5), (0, (1 << 5) | 1));
    assert_eq!(dos_time(i64::MAX / 2).1, (127 << 9) | (12 << 5) | 31);
    assert_eq!(civil(0), (1970, 1, 1));
    assert_eq!(civil(-1), (1969, 12, 31));
}

#[test]
fn plans_switch_to_zip64_only_where_needed() {
    let h = wire::Hash([7; 32]);
    let big = |size: u64| Content {
        version_id: 1,
        size,
        chunks: vec![ChunkRef {
            hash: h,
            offset: 0,
            size: 1,
        }],
    };
    let small = ZipPlan::new(vec![ZipEntry::file("a", 0, big(MAX32 - 1))], false);
    assert!(!small.entries[0].zip64);
    // Local 30+1+9, data, descriptor 16, central 46+1+9; the central directory starts past
    // 4 GiB, so the ZIP64 end record (56) and locator (20) come before the end record (22).
    assert_eq!(small.len(), 40 + (MAX32 - 1) + 16 + 56 + 56 + 20 + 22);
    let large = ZipPlan::new(
        vec![ZipEntry::file("a", 0, big(MAX32)), ZipEntry::dir("b", 0)],
        false,
    );
    assert!(large.entries[0].zip64 && !large.entries[1].zip64);
    assert_eq!(large.entries[1].offset, 60 + MAX32 + 24);
    // Central: a's sizes and b's offset in ZIP64 fields; then the ZIP64 end record and locator.
    let cd = large.central(&[0, 0]);
    assert_eq!(
        cd.len(),
        (46 + 1 + 20 + 9) + (46 + 2 + 12 + 9) + 56 + 20 + 22
    );
    assert_eq!(large.len(), large.cd_offset + cd.len() as u64);
}

/// A > 4 GiB archive: an entry of 4 GiB + 4 MiB + 3 (zeros, sparse on disk) between small
/// ones, so sizes, the next entry's offset and the central directory's all pass 4 GiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_past_4_gib_use_zip64_and_open_in_zipfile_and_unzip() {
    let mem = Arc::new(MemChunks::default());
    let zero = vec![0u8; 4 << 20];
    let zhash = wasm_chunker::hash_chunk(&zero);
    let thash = wasm_chunker::hash_chunk(&[0; 3]);
    mem.0.lock().unwrap().insert(zhash, zero.into());
    mem.0.lock().unwrap().insert(thash, vec![0u8; 3].into());
    let n = 1025u64;
    let mut chunks: Vec<ChunkRef> = (0..n)
        .map(|i| ChunkRef {
            hash: zhash,
            offset: i << 22,
            size: 4 << 20,
        })
        .collect();
    chunks.push(ChunkRef {
        hash: thash,
        offset: n << 22,
        size: 3,
    });
    let size = (n << 22) + 3;
    let a = bytes_of(4, 999);
    let z = bytes_of(5, 12_345);
    let (ac, zc) = (mem.file(&a, 500), mem.file(&z, 5000));
    let plan = ZipPlan::new(
        vec![
            ZipEntry::file(
                "a.txt",
                0,
                Content {
                    version_id: 1,
                    size: a.len() as u64,
                    chunks: ac,
                },
            ),
            ZipEntry::file(
                "big.bin",
                0,
                Content {
                    version_id: 2,
                    size,
                    chunks,
                },
            ),
            ZipEntry::dir("after", 0),
            ZipEntry::file(
                "after/z.txt",
                0,
                Content {
                    version_id: 3,
                    size: z.len() as u64,
                    chunks: zc,
                },
            ),
        ],
        false,
    );
    let want = plan.len();
    assert!(want > MAX32);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.zip");
    assert_eq!(write(plan, mem, &path, Some(2)).await, want);

    let v = python(&path, "big.bin");
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e[0]["hex"], hex::encode(&a));
    assert_eq!(e[1]["size"], size);
    assert!(e[2]["offset"].as_u64().unwrap() > MAX32);
    assert_eq!(e[3]["hex"], hex::encode(&z));
    // The big entry's CRC, from the descriptor we wrote, against Python's CRC of its zeros.
    let out = Command::new("python3")
        .args(["-c", "import zlib,sys\nc=0\nb=bytes(4<<20)\nfor _ in range(1025): c=zlib.crc32(b,c)\nprint(zlib.crc32(bytes(3),c))"])
        .output()
        .unwrap();
    let crc: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(e[1]["crc"], crc);
    // unzip reads the ZIP64 end records and offsets (the members past 4 GiB, by CRC).
    unzip_test(&path, &["after/z.txt", "a.txt"]);
}
