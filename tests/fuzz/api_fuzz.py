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
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
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


def sign_up(base):
    body = json.dumps({
        "username": "fuzz",
        "password": "correct horse battery staple",
        "device_name": "schemathesis",
    }).encode()
    req = urllib.request.Request(
        base + "/api/v1/accounts", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["token"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--schemathesis", required=True)
    ap.add_argument("--examples", type=int, default=25)
    ap.add_argument("--seed", type=int, default=None,
                    help="random generation from this seed (default: deterministic generation)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as data:
        child, base = start(a.bin, data)
        try:
            token = sign_up(base)
            cmd = [
                a.schemathesis, "run", base + "/openapi.json",
                "-H", "Authorization: Bearer " + token,
                "--checks", CHECKS,
                "--exclude-path-regex", SKIP,
                "--max-examples", str(a.examples),
                "--request-timeout", "30",
                "--workers", "1",
            ]
            cmd += ["--seed", str(a.seed)] if a.seed is not None else ["--generation-deterministic"]
            print("$", " ".join(c if "Bearer" not in c else "Authorization: Bearer …" for c in cmd),
                  flush=True)
            # Its report cache goes to the temp dir, not the checkout.
            return subprocess.run(cmd, cwd=data).returncode
        finally:
            child.kill()
            child.wait()


if __name__ == "__main__":
    sys.exit(main())
