#!/usr/bin/env python3
"""What one chunk PUT costs as the upload's manifest grows (issue 15, item 5).

Starts `cairn` (CAIRN_BIN) on a free loopback port over a temp data dir, signs up, announces
an upload whose manifest lists N chunks (the first real, the rest made-up hashes of the
smallest legal size), and times repeated PUTs of the real chunk to its signed URL. Before
upload_chunks rows, every PUT loaded and parsed the whole manifest, so its time grew with N.

    CAIRN_BIN=target/release/cairn python3 tests/bench/put-cost.py [N ...]

Needs the `blake3` module (`pip install blake3`).
"""
import json, os, random, socket, statistics, subprocess, sys, tempfile, time, urllib.request

import blake3

CHUNKER_ID = "fastcdc2020-l2-256k-1m-4m+blake3"
CONTEXT = "cairn 2025 file content hash from chunk list v1"
MIN = 256 * 1024


def file_hash(chunks):
    h = blake3.blake3(derive_key_context=CONTEXT)
    h.update(len(CHUNKER_ID).to_bytes(8, "little"))
    h.update(CHUNKER_ID.encode())
    for c in chunks:
        h.update(bytes.fromhex(c["hash"]))
        h.update(c["size"].to_bytes(8, "little"))
    return h.hexdigest()


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def main():
    counts = [int(a) for a in sys.argv[1:]] or [1, 1_000, 10_000, 35_000]
    binary = os.environ.get("CAIRN_BIN", "target/release/cairn")
    with tempfile.TemporaryDirectory() as d:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(os.environ, RUST_LOG="warn", CAIRN_SIGNUP_RATE_PER_IP="1000/1")
        proc = subprocess.Popen(
            [binary, "--addr", f"127.0.0.1:{port}", "--data-dir", d],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            proc.stdout.readline()  # "cairn listening on …"
            base = f"http://127.0.0.1:{port}"
            print(f"{'chunks in manifest':>20} {'PUT median ms':>14} {'p90 ms':>8}")
            for i, n in enumerate(counts):
                session = call(base, "POST", "/api/v1/accounts",
                               {"username": f"bench{i}", "password": "benchmark-pw",
                                "device_name": "bench"})
                real = random.randbytes(MIN)
                chunks = [{"hash": blake3.blake3(real).hexdigest(), "offset": 0, "size": MIN}]
                for k in range(1, n):
                    chunks.append({"hash": random.randbytes(32).hex(), "offset": k * MIN,
                                   "size": MIN})
                manifest = {"chunker": CHUNKER_ID, "size": n * MIN, "hash": file_hash(chunks),
                            "chunks": chunks}
                up = call(base, "POST", "/api/v1/uploads", {"manifest": manifest},
                          session["token"])
                url = base + next(m["url"] for m in up["missing"] if m["hash"] == chunks[0]["hash"])
                times = []
                for _ in range(40):
                    t = time.perf_counter()
                    req = urllib.request.Request(url, data=real, method="PUT")
                    urllib.request.urlopen(req).read()
                    times.append((time.perf_counter() - t) * 1000)
                times.sort()
                print(f"{n:>20} {statistics.median(times):>14.2f} {times[int(len(times) * 0.9)]:>8.2f}")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
