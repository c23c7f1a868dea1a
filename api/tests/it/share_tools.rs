//! The real `curl` and `wget` against the real server, on both chunk stores: `curl -O -J`
//! names the file from Content-Disposition, `curl -C -` and `wget -c` resume a download cut
//! short (by a first range, or by a connection dropped midway) and end with identical bytes,
//! and `curl -u :PASSWORD` opens a password link. (`cargo xtask setup` installs the tools.)

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::fixture::{bytes, Backend, TestServer};
use crate::links::make;

/// Runs a tool to completion in `dir`; panics with its output when it fails.
fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (cargo xtask setup installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Exit code of a tool that is expected to fail.
fn fails(dir: &Path, program: &str, args: &[&str]) -> i32 {
    let s = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!s.success(), "{program} {args:?} succeeded");
    s.code().unwrap_or(-1)
}

/// A one-connection TCP relay to `target` that passes the request through and the answer only
/// up to `limit` bytes, then drops the connection: a download cut short by the network, at
/// the same byte every run. (Throttling the tool and killing it is not deterministic, and
/// curl 7.88's `--limit-rate` does not throttle on loopback.)
async fn cut_after(target: &str, limit: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = target
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = tokio::net::TcpStream::connect(&target).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let up = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut cr, &mut sw).await;
        });
        let mut left = limit;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let n = match sr.read(&mut buf[..left.min(64 * 1024)]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            left -= n;
        }
        let _ = cw.shutdown().await;
        up.abort();
    });
    format!("http://{addr}")
}

fn same_file(path: &Path, data: &[u8]) {
    let got = std::fs::read(path).unwrap();
    assert_eq!(got.len(), data.len(), "{}", path.display());
    assert!(got == data, "{} differs", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_and_wget_download_and_resume_on_both_stores() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(101, 6 * 1024 * 1024 + 321);
        let f = alice.upload_file("holiday video.mp4", &data, None).await;
        let made = make(&alice, json!({"node_id": f.node.id})).await;
        let url = server.url(&format!("/s/{}/download", made.token));
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();

        // curl -O -J: the name comes from Content-Disposition.
        run(d, "curl", &["-sS", "-f", "-O", "-J", &url]);
        same_file(&d.join("holiday video.mp4"), &data);

        // curl -C - after a first range.
        run(
            d,
            "curl",
            &["-sS", "-f", "-r", "0-2500000", "-o", "part.bin", &url],
        );
        assert_eq!(
            std::fs::metadata(d.join("part.bin")).unwrap().len(),
            2_500_001
        );
        run(d, "curl", &["-sS", "-f", "-C", "-", "-o", "part.bin", &url]);
        same_file(&d.join("part.bin"), &data);

        // curl -C - after the connection dropped midway (curl exits 18: partial file).
        let path = format!("/s/{}/download", made.token);
        let cut = format!("{}{path}", cut_after(&server.base, 3_000_000).await);
        assert_eq!(fails(d, "curl", &["-sS", "-o", "cut.bin", &cut]), 18);
        let got = std::fs::metadata(d.join("cut.bin")).unwrap().len();
        assert!(got > 0 && got < 3_000_000, "{got}");
        run(d, "curl", &["-sS", "-f", "-C", "-", "-o", "cut.bin", &url]);
        same_file(&d.join("cut.bin"), &data);

        // wget -c over a partial file, and after its connection dropped midway.
        std::fs::write(d.join("w.bin"), &data[..1_234_567]).unwrap();
        run(d, "wget", &["-q", "-c", "-O", "w.bin", &url]);
        same_file(&d.join("w.bin"), &data);
        let cut = format!("{}{path}", cut_after(&server.base, 2_000_000).await);
        fails(d, "wget", &["-q", "--tries=1", "-O", "wcut.bin", &cut]);
        let got = std::fs::metadata(d.join("wcut.bin")).unwrap().len();
        assert!(got > 0 && got < 2_000_000, "{got}");
        run(d, "wget", &["-q", "-c", "-O", "wcut.bin", &url]);
        same_file(&d.join("wcut.bin"), &data);
        // wget --content-disposition reads the exact name (filename*).
        let sub = d.join("wget-name");
        std::fs::create_dir(&sub).unwrap();
        run(&sub, "wget", &["-q", "--content-disposition", &url]);
        same_file(&sub.join("holiday video.mp4"), &data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_opens_a_password_link_with_basic_auth() {
    let server = TestServer::on(Backend::Sqlite).s3(false).start().await;
    let alice = server.register("alice").await;
    let data = bytes(102, 1024 * 1024 + 9);
    let f = alice.upload_file("secret.tar", &data, None).await;
    let made = make(
        &alice,
        json!({"node_id": f.node.id, "password": "open sesame"}),
    )
    .await;
    let url = server.url(&format!("/s/{}/download", made.token));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Without the password: HTTP 401, and curl -f fails with 22.
    assert_eq!(fails(d, "curl", &["-sS", "-f", "-O", "-J", &url]), 22);
    assert_eq!(
        fails(
            d,
            "curl",
            &["-sS", "-f", "-u", ":wrong words", "-O", "-J", &url]
        ),
        22
    );
    assert!(!d.join("secret.tar").exists());
    run(
        d,
        "curl",
        &["-sS", "-f", "-u", ":open sesame", "-O", "-J", &url],
    );
    same_file(&d.join("secret.tar"), &data);
    // And a resume with it.
    run(
        d,
        "curl",
        &[
            "-sS",
            "-f",
            "-u",
            ":open sesame",
            "-r",
            "0-99999",
            "-o",
            "p.tar",
            &url,
        ],
    );
    run(
        d,
        "curl",
        &[
            "-sS",
            "-f",
            "-u",
            ":open sesame",
            "-C",
            "-",
            "-o",
            "p.tar",
            &url,
        ],
    );
    same_file(&d.join("p.tar"), &data);
    // wget too, with the password as its --password.
    run(
        d,
        "wget",
        &[
            "-q",
            "--user=",
            "--password=open sesame",
            "--auth-no-challenge",
            "-O",
            "w.tar",
            &url,
        ],
    );
    same_file(&d.join("w.tar"), &data);
}
