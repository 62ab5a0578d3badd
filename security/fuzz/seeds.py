#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from the shared vectors
(edge/vectors/*.json, edge/fixtures/dynamodb/interpret.json), in the input
layout each target documents at its top. Usage: seeds.py OUT_DIR (seeds.py --help prints this).
Seeds are generated, never committed; the fuzzer adds what it finds."""
import hashlib
import ipaddress
import json
import pathlib
import argparse

ROOT = pathlib.Path(__file__).resolve().parents[2]
parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("out_dir", type=pathlib.Path, help="where one folder per fuzz target is written")
out = parser.parse_args().out_dir
decide = json.loads((ROOT / "edge/vectors/decide.json").read_text())
fmt = json.loads((ROOT / "edge/vectors/format.json").read_text())
dyn = json.loads((ROOT / "edge/fixtures/dynamodb/interpret.json").read_text())
counts = {}


def seed(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)
    counts[target] = counts.get(target, 0) + 1


def fill(text, case):
    return text.replace("{token}", case.get("token", "")).replace("{pass}", case.get("pass", ""))


def ip_bytes(ip):
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return bytes(17)
    return (b"\x00" + a.packed + bytes(12)) if a.version == 4 else (b"\x01" + a.packed)


def ask_paths(expect, replies, given):
    """(the body and file size given, the replies to the first store step) for each way through a case's
    need_body and need_file_size steps."""
    key = {"need_body": "body", "need_file_size": "file_size"}.get(expect.get("step"))
    if key is None:
        yield given, replies if expect.get("step") == "need_store" else []
        return
    for reply in replies:
        yield from ask_paths(reply.get("expect", {}), reply.get("then", []), dict(given, **{key: reply[key]}))


for m in fmt["mint"]:
    seed("token", b"\x00" + m["token"].encode())
    seed("claims", json.dumps(m["claims"], separators=(",", ":"), ensure_ascii=False))
for v in fmt["verify"]:
    seed("token", b"\x00" + v["token"].encode())

for case in decide["cases"]:
    req = case["request"]
    headers = {k.lower(): fill(v, case) for k, v in req.get("headers", {}).items()}
    req = dict(req, query=fill(req.get("query", ""), case), headers=headers)
    if case.get("token"):
        seed("token", b"\x00" + case["token"].encode())
    claims = case.get("mint", {}).get("claims")
    if claims:
        seed("claims", json.dumps(claims, separators=(",", ":"), ensure_ascii=False))
        seed("path", claims["p"] + "\n" + req["path"])
        if isinstance(claims.get("ip"), str):  # a null or mistyped claim is a vector of its own
            seed("cidr", ip_bytes(req.get("ip", "")) + claims["ip"].encode())
    seed("range", "\n".join([headers.get("range", ""), req["query"], headers.get("authorization", "")]))
    # Every path through the case's asks (body, file size) to its first store step, whose replies
    # are given together (the decide target's JSON layout, security/fuzz/src/lib.rs JsonCase).
    for given, replies in ask_paths(case.get("expect", {}), case.get("replies", []), {}):
        if "body" in given and "read" in given["body"]:
            seed("form", given["body"]["read"])
        doc = {"config": case.get("config", {}), "now": case["now"], "request": req, **given,
               "replies": [r["reply"] for r in replies]}
        seed("decide", b"\x00" + json.dumps(doc, ensure_ascii=False).encode())

seed("form", "\x01s\u00e9same ouvre")
# The target's kind order (fuzz_targets/dynamodb.rs, KINDS).
kinds = ["consume", "resume", "read", "attempt", "guard"]
for v in dyn["vectors"]:
    # The raw layout: 0x80 | kind, the status (two bytes, little-endian), the body.
    status = v["status"].to_bytes(2, "little")
    seed("dynamodb", bytes([0x80 | kinds.index(v["kind"])]) + status + v["body"].encode())

print("seeds:", ", ".join(f"{t} {n}" for t, n in sorted(counts.items())))
