"""Schema-driven fuzzing of Cairn's HTTP API: schemathesis against a real `cairn` with a real
token, bounded in examples, generated deterministically (the same run every time, so a red CI
is a bug and not luck; `--seed` explores further).

Why Python here: schemathesis is a Python tool; this script only starts the server, signs up a
user and hands schemathesis the token. `cargo xtask fuzz-api` installs schemathesis into a
venv and runs this with that venv's interpreter.

What must hold, for every operation of /openapi.json and every generated request: no 5xx
(`not_a_server_error`), every status documented (`status_code_conformance`), every body and
content type as documented (`response_schema_conformance`, `content_type_conformance`).
Operations that end the fuzzer's own session (sign out, device revocation, password change)
and the event stream (it never ends) are left out.

Path parameters name real things: before fuzzing, `seed` makes a folder, a file with two
versions, trashed files, share links (a folder's and a file request's), shared folders with a
member, open uploads, and each operation's path parameters are pinned to them through a
generated `schemathesis.toml` (`[[operations]]` with `parameters`), so the fuzzer reaches the
handlers' real work instead of their 404s. Operations that destroy what they name (delete a
node, purge, revoke a link, unshare, remove a member, cancel an upload) get things of their own.
Query parameters and bodies are still generated.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

SKIP = r"^/api/v1/events|^/api/v1/sessions$|^/api/v1/devices|^/api/v1/account/password"
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
])


def start(binary, data_dir):
    child = subprocess.Popen(
        [binary, "--addr", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "CAIRN_SIGNUP_RATE_PER_IP": "1000/60"},
    )
    for line in child.stdout:
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if m:
            return child, m.group(1)
    child.kill()
    sys.exit("cairn exited before it listened")


def sign_up(base, username):
    s = call(base, "POST", "/api/v1/accounts", body={
        "username": username,
        "password": "correct horse battery staple",
        "device_name": "schemathesis",
    })
    return {**s, "username": username}


# Three one-chunk files and their manifests (chunk and file hashes computed with
# `wasm_chunker::Manifest::from_chunks(chunk_all(data))`; the server checks every one).
CHUNKER = "fastcdc2020-l2-256k-1m-4m+blake3"
FILES = {
    "one": (b"cairn fuzz: one\n",
            "902f558f04cef0ed9e9889ba712058a10f13da27818091674a53ecf4a392c46c",
            "7c7c6e51549e4076a06b960bca2179786e91c7d76bb7234aadc4408569269a82"),
    "two": (b"cairn fuzz: two\n",
            "ba9bc6adb1b66a7e2b78986e62ddc084eb90c830f82bcb3550d5620462cb7591",
            "0b81fb4d74fdadaf6df46dcd661f87f387ea3f76e8be693a7d13820dc42e4686"),
    "three": (b"cairn fuzz: three\n",
              "4611822dc8d9e5e5a687650010d8c572eff94340e966095f2a9b4b94c17089e3",
              "2d0629c76867e013d855dbc2be14b7d814e9ac0a1b6e3066730593e68d0baaf1"),
}


def manifest(which):
    data, file_hash, chunk_hash = FILES[which]
    return {"chunker": CHUNKER, "size": len(data), "hash": file_hash,
            "chunks": [{"hash": chunk_hash, "offset": 0, "size": len(data)}]}


def call(base, method, path, token=None, body=None, raw=None, expect=None):
    """One request; the answer's JSON (None when empty). Fails the run on an unexpected status."""
    headers = {}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if token:
        headers["authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"seeding: {method} {path} answered {e.code}: {e.read()[:300]!r}")
    if expect is not None and r.status != expect:
        sys.exit(f"seeding: {method} {path} answered {r.status}, not {expect}")
    return json.loads(text) if text else None


def seed(base, owner, member):
    """Makes what the path parameters will name; gives {(method, path template): {name: value}}."""
    t = owner["token"]
    root = owner["root_id"]

    def folder(parent, name):
        return call(base, "POST", "/api/v1/folders", t, {"parent_id": parent, "name": name})["id"]

    def upload(which):
        up = call(base, "POST", "/api/v1/uploads", t, {"manifest": manifest(which)})
        for target in up["missing"]:
            call(base, "PUT", target["url"], raw=FILES[which][0])
        return up["upload_id"]

    def commit(which, parent, name, base_version=None):
        upload_id = upload(which)
        return call(base, "POST", "/api/v1/commits", t, {
            "upload_id": upload_id, "parent_id": parent, "name": name,
            "base_version": base_version, "idempotency_key": upload_id})

    def link(node, kind):
        return call(base, "POST", "/api/v1/links", t, {"node_id": node, "kind": kind})

    def share(name, with_member):
        s = call(base, "POST", f"/api/v1/nodes/{folder(root, name)}/share", t)["id"]
        if with_member:
            call(base, "POST", f"/api/v1/shares/{s}/members", t,
                 {"username": member["username"], "role": "editor"})
            call(base, "POST", f"/api/v1/shares/{s}/accept", member["token"])
        return s

    docs = folder(root, "docs")
    v1 = commit("one", docs, "seed.txt")
    v2 = commit("two", docs, "seed.txt", v1["version_id"])
    file_id = v2["node"]["id"]
    victim = commit("one", docs, "victim.txt")["node"]["id"]
    trashed = commit("one", root, "trashed.txt")["node"]["id"]
    purged = commit("one", root, "purged.txt")["node"]["id"]
    for n in (trashed, purged):
        call(base, "DELETE", f"/api/v1/nodes/{n}", t)
    to_share = folder(root, "to share")
    shown = link(docs, "download")
    revoked = link(file_id, "download")["link"]["id"]
    request = link(docs, "request")["token"]
    team = share("team", True)
    left = share("left", True)
    ended = share("ended", False)
    open_upload = call(base, "POST", "/api/v1/uploads", t, {"manifest": manifest("three")})
    cancelled = call(base, "POST", "/api/v1/uploads", t, {"manifest": manifest("three")})
    dropped = call(base, "POST", f"/api/v1/public/{request}/uploads", None, {
        "manifest": manifest("three"), "name": "dropped.txt", "uploader": "fuzz"})
    # A manifest draft of one chunk, its one part not yet sent.
    draft = call(base, "POST", "/api/v1/manifests", t, {
        "chunker": CHUNKER, "size": 1000, "hash": "0" * 64,
        "chunk_count": 1})
    token = shown["token"]
    node = {"id": file_id}
    params = {
        ("GET", "/api/v1/nodes/{id}/children"): {"id": docs},
        ("POST", "/api/v1/nodes/{id}/share"): {"id": to_share},
        ("DELETE", "/api/v1/nodes/{id}"): {"id": victim},
        ("PATCH", "/api/v1/nodes/{id}"): node,
        ("GET", "/api/v1/nodes/{id}/versions"): node,
        ("GET", "/api/v1/nodes/{id}/content"): node,
        ("GET", "/api/v1/nodes/{id}/download"): node,
        ("POST", "/api/v1/nodes/{id}/versions/{version_id}/restore"):
            {"id": file_id, "version_id": v1["version_id"]},
        ("PUT", "/api/v1/nodes/{id}/versions/{version_id}/thumbnail"):
            {"id": file_id, "version_id": v1["version_id"]},
        ("GET", "/api/v1/nodes/{id}/versions/{version_id}/thumbnail"):
            {"id": file_id, "version_id": v1["version_id"]},
        ("POST", "/api/v1/trash/{id}/restore"): {"id": trashed},
        ("DELETE", "/api/v1/trash/{id}"): {"id": purged},
        ("PATCH", "/api/v1/links/{id}"): {"id": shown["link"]["id"]},
        ("GET", "/api/v1/links/{id}/access"): {"id": shown["link"]["id"]},
        ("DELETE", "/api/v1/links/{id}"): {"id": revoked},
        ("GET", "/api/v1/uploads/{id}"): {"id": open_upload["upload_id"]},
        ("DELETE", "/api/v1/uploads/{id}"): {"id": cancelled["upload_id"]},
        ("PUT", "/api/v1/manifests/{id}/parts/{n}"): {"id": draft["id"], "n": 0},
        ("GET", "/api/v1/shares/{id}/members"): {"id": team},
        ("POST", "/api/v1/shares/{id}/members"): {"id": team},
        ("POST", "/api/v1/shares/{id}/accept"): {"id": team},
        ("GET", "/api/v1/shares/{id}/activity"): {"id": team},
        ("PATCH", "/api/v1/shares/{id}/members/{user_id}"):
            {"id": team, "user_id": member["user_id"]},
        ("DELETE", "/api/v1/shares/{id}/members/{user_id}"):
            {"id": left, "user_id": member["user_id"]},
        ("DELETE", "/api/v1/shares/{id}"): {"id": ended},
        ("GET", "/api/v1/public/{token}/uploads/{id}"):
            {"token": request, "id": dropped["upload_id"]},
        ("POST", "/api/v1/public/{token}/uploads"): {"token": request},
        ("POST", "/api/v1/public/{token}/commit"): {"token": request},
        ("GET", "/s/{token}/files/{path}"): {"token": token, "path": "seed.txt"},
    }
    # (Not the share page's password form: with its token pinned, the generator filters out
    # nearly every form body it draws and the health check fails the run.)
    for method, path in [("GET", "/api/v1/public/{token}"), ("POST", "/api/v1/public/{token}/unlock"),
                         ("GET", "/api/v1/public/{token}/list"),
                         ("GET", "/api/v1/public/{token}/manifest"), ("GET", "/s/{token}"),
                         ("GET", "/s/{token}/download"),
                         ("GET", "/s/{token}/zip")]:
        params[(method, path)] = {"token": token}
    return params


def toml_string(s):
    return json.dumps(s)


def config(params):
    """schemathesis.toml pinning each operation's path parameters."""
    out = []
    for (method, path), values in sorted(params.items()):
        pinned = ", ".join(f"{toml_string('path.' + k)} = {json.dumps(v)}" for k, v in values.items())
        # One filter, the operation's name: two include filters would match either.
        out.append(f"[[operations]]\ninclude-name = {toml_string(method + ' ' + path)}\n"
                   f"parameters = {{ {pinned} }}\n")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--schemathesis", required=True)
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("--seed", type=int, default=None,
                    help="random generation from this seed (default: deterministic generation)")
    ap.add_argument("--only", default=None,
                    help="fuzz only the operations whose path matches this regex (to look closer)")
    ap.add_argument("--report", default=None,
                    help="write a HAR of every request and answer into this directory")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as data:
        child, base = start(a.bin, data)
        try:
            owner = sign_up(base, "fuzz")
            member = sign_up(base, "member")
            token = owner["token"]
            cfg = os.path.join(data, "schemathesis.toml")
            with open(cfg, "w") as f:
                f.write(config(seed(base, owner, member)))
            cmd = [
                a.schemathesis, "--config-file", cfg, "run", base + "/openapi.json",
                "-H", "Authorization: Bearer " + token,
                "--checks", CHECKS,
                "--exclude-path-regex", SKIP,
                "--max-examples", str(a.examples),
                "--request-timeout", "30",
                "--workers", "1",
                # The share page's password form (a urlencoded body) makes hypothesis discard
                # most of what it draws; the requests it does send are still checked.
                "--suppress-health-check", "filter_too_much",
            ]
            cmd += ["--seed", str(a.seed)] if a.seed is not None else ["--generation-deterministic"]
            if a.only:
                cmd += ["--include-path-regex", a.only]
            if a.report:
                cmd += ["--report", "har", "--report-dir", os.path.abspath(a.report)]
            print("$", " ".join(c if "Bearer" not in c else "Authorization: Bearer …" for c in cmd),
                  flush=True)
            # Its report cache goes to the temp dir, not the checkout.
            return subprocess.run(cmd, cwd=data).returncode
        finally:
            child.kill()
            child.wait()


if __name__ == "__main__":
    sys.exit(main())
