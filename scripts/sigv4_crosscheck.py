#!/usr/bin/env python3
"""Cross-check oncelink's SigV4 signer against botocore's SigV4Auth.

For fixed inputs (consume/resume/read/attempt/revoke/status requests; default AWS endpoints
and a local endpoint; with and without a session token; several dates), it asks
the Rust encoder (the `dynamodb_call` example of oncelink-edge) for the signed
request, re-signs the same method, URL, body and headers with botocore at the
same instant, and compares the Authorization, X-Amz-Date and
X-Amz-Security-Token headers. Exits 1 on any mismatch, 2 on a setup error.

    python3 scripts/sigv4_crosscheck.py            # check (builds the example)
    python3 scripts/sigv4_crosscheck.py --write-vectors edge/fixtures/dynamodb/request.json

--write-vectors records each case with botocore's headers as the expected
result, so the native tests (edge/tests/dynamodb_vectors.rs) check the
encoder against an independent signer without Python.

Needs: botocore (pip install botocore), cargo. Honours CARGO_TARGET_DIR.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
from unittest import mock

try:
    import botocore
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    sys.exit("sigv4_crosscheck: botocore is not installed (pip install botocore)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CREDS = [
    {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    {
        "access_key_id": "ASIAEXAMPLEEXAMPLE01",
        "secret_access_key": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "session_token": "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+token/with=chars",
    },
]
STORES = [
    ("us-east-1", {"table": "oncelink-tokens"}),
    ("eu-west-2", {"table": "oncelink.tokens-prod_2"}),
    ("us-east-1", {"table": "oncelink-tokens", "endpoint": "http://127.0.0.1:5000"}),
    ("ap-southeast-2", {"table": "tokens", "endpoint": "https://localhost:8443/"}),
]
TIMES = [1440938160, 1709164799, 1735689599, 4102444799]  # 2015-08-30, 2024-02-28 23:59:59, 2024-12-31 23:59:59, 2099-12-31 23:59:59


def op(kind, region, now):
    """A store op; `consume-locked` is a consume with `max_failures` (a password link
    of a deployment that locks); `attempt-right` and `attempt-wrong` are checked
    password guesses with `miss` 0 and 1 (a compare-and-set of the throttle state),
    `attempt-locked` a wrong one with `max_failures`; `guard` reads the throttle state."""
    out = {
        "kind": {"consume-locked": "consume", "attempt-locked": "attempt"}.get(kind, kind.split("-")[0]),
        "id": "q3AAAAAAAAAAAAAAAAAAAA",
        "region": region,
        "n": 5,
        "fp": "fp_-AAAAAAAAAAAAAAAAAA",
        "now": now,
        "resume_after": now - 600,
        "expire_at": now + 90000,
    }
    if kind in ("consume-locked", "attempt-locked"):
        out["max_failures"] = 5
    if kind.startswith("attempt-"):
        wrong = kind != "attempt-right"
        out["miss"] = 1 if wrong else 0
        out["version"] = 0 if kind == "attempt-locked" else 41
        out["throttle"] = f"{now:011}.{1 if wrong else 0:05}/netAAAAA.{1 if wrong else 0:05}.{now if wrong else 0:011}.00000000000"
    return out


def cases():
    for i, (region, store) in enumerate(STORES):
        for j, creds in enumerate(CREDS):
            now = TIMES[(i + j) % len(TIMES)]
            for kind in ("consume", "resume", "read", "guard", "attempt-right", "attempt-wrong", "attempt-locked", "consume-locked"):
                yield f"{kind} {region} {store.get('endpoint', 'aws')} creds{j}", {
                    "sign": {"op": op(kind, region, now), "store": store, "creds": creds, "now": now}
                }
            for what in ("revoke", "status"):
                yield f"{what} {region} {store.get('endpoint', 'aws')} creds{j}", {
                    what: {"id": "q3AAAAAAAAAAAAAAAAAAAA", "region": region, "store": store, "creds": creds, "now": now}
                }


def build_example():
    cmd = ["cargo", "build", "-q", "-p", "oncelink-edge", "--example", "dynamodb_call", "--message-format=json"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        sys.exit("sigv4_crosscheck: cargo build of the dynamodb_call example failed")
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "dynamodb_call":
            if msg.get("executable"):
                return msg["executable"]
    sys.exit("sigv4_crosscheck: cargo did not report the dynamodb_call executable")


def rust_call(binary, payload):
    out = subprocess.run([binary], input=json.dumps(payload), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"sigv4_crosscheck: dynamodb_call failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def botocore_headers(call, region, creds, now):
    """Signs the same request with botocore at `now`; returns lowercase headers."""
    headers = {k: v for k, v in call["headers"] if k in ("content-type", "x-amz-target")}
    request = AWSRequest(method=call["method"], url=call["url"], data=call["body"].encode(), headers=headers)
    credentials = Credentials(creds["access_key_id"], creds["secret_access_key"], creds.get("session_token"))
    fixed = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
        SigV4Auth(credentials, "dynamodb", region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="a built dynamodb_call example (default: build it with cargo)")
    parser.add_argument("--write-vectors", metavar="PATH", help="also write the cases with botocore's headers as JSON vectors")
    args = parser.parse_args()
    binary = args.binary or build_example()

    mismatches, vectors, count = [], [], 0
    for name, payload in cases():
        (what, spec), = payload.items()
        region = spec["op"]["region"] if what == "sign" else spec["region"]
        call = rust_call(binary, payload)
        ours = {k: v for k, v in call["headers"]}
        theirs = botocore_headers(call, region, spec["creds"], spec["now"])
        count += 1
        for header in ("authorization", "x-amz-date", "x-amz-security-token"):
            if ours.get(header) != theirs.get(header):
                mismatches.append(f"{name}: {header}\n  oncelink: {ours.get(header)}\n  botocore: {theirs.get(header)}")
        if ours.get("host") != theirs.get("host", ours.get("host")):
            mismatches.append(f"{name}: host {ours.get('host')} vs {theirs.get('host')}")
        vectors.append({"name": name, "input": payload, "expect": {
            "url": call["url"],
            "body": json.loads(call["body"]),
            "headers": {k: theirs[k] for k in ("authorization", "x-amz-date", "x-amz-security-token") if k in theirs},
        }})

    if args.write_vectors:
        doc = {
            "about": "Signed DynamoDB requests: each `input` is what edge/examples/dynamodb_call.rs takes; "
                     "`expect.headers` are botocore " + botocore.__version__ + " SigV4Auth's for the same request "
                     "(written by scripts/sigv4_crosscheck.py --write-vectors), `expect.body` the exact request body "
                     "as JSON, `expect.url` the URL. Run by edge/tests/dynamodb_vectors.rs.",
            "vectors": vectors,
        }
        with open(args.write_vectors, "w") as f:
            f.write(json.dumps(doc, indent=1) + "\n")

    if mismatches:
        print("\n".join(mismatches))
        print(f"sigv4_crosscheck: {len(mismatches)} mismatches in {count} requests (botocore {botocore.__version__})")
        return 1
    print(f"sigv4_crosscheck: {count} requests signed identically by oncelink and botocore {botocore.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
