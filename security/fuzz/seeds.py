#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from the shared vectors
(edge/vectors/*.json, edge/fixtures/dynamodb/interpret.json), in the input
layout each target documents at its top. Usage: seeds.py OUT_DIR (seeds.py --help prints this).
Seeds are generated, never committed; the fuzzer adds what it finds."""
import hashlib
import ipaddress
import json
import pathlib
import struct
import zlib
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
    seed("boundary", b"\x00" + json.dumps(req, ensure_ascii=False).encode())
    seed("boundary", b"\x01" + json.dumps({"ask": "body", "request": req, "now": case["now"]}, ensure_ascii=False).encode())
    # Every path through the case's asks (body, file size) to its first store step, whose replies
    # are given together (the decide target's JSON layout, security/fuzz/src/lib.rs JsonCase).
    for given, replies in ask_paths(case.get("expect", {}), case.get("replies", []), {}):
        if "body" in given and "read" in given["body"]:
            seed("form", given["body"]["read"])
        if "body" in given:
            seed("boundary", b"\x02" + json.dumps(given["body"]).encode())
        if "file_size" in given:
            seed("boundary", b"\x03" + json.dumps(given["file_size"]).encode())
        for r in replies:
            seed("boundary", b"\x05" + json.dumps(r["reply"]).encode())
        doc = {"config": case.get("config", {}), "now": case["now"], "request": req, **given,
               "replies": [r["reply"] for r in replies]}
        seed("decide", b"\x00" + json.dumps(doc, ensure_ascii=False).encode())

# A struct written as an array of its fields: serde reads it, the core's
# reader refuses it (fuzz_targets/boundary.rs; found by this target).
seed("boundary", b"\x00" + b'  [   ""," " ]')
seed("boundary", b"\x01" + b'["body",["POST","/a"],5]')
seed("form", "\x01s\u00e9same ouvre")
# A pending of need_store (the vectors give only parts of one): a forward and a guess.
seed("boundary", b"\x04" + json.dumps({
    "op": {"kind": "consume", "id": "AAAAAAAAAAAAAAAAAAAAAA", "region": "us-east-1", "n": 2, "fp": "fp", "now": 5,
           "resume_after": 0, "expire_at": 9, "bind": "b"},
    "then": {"forward": {"allow": "counted", "path": "/a", "query": "", "set_headers": [["x-a", "1"]],
                         "remove_headers": ["x-b"], "id_hash": "h", "used": None}},
    "html": False, "id_hash": "h", "cors": [["access-control-allow-origin", "https://a.example"]]}).encode())
seed("boundary", b"\x04" + json.dumps({
    "op": {"kind": "guard", "id": "AAAAAAAAAAAAAAAAAAAAAA", "region": "us-east-1", "n": 1, "fp": "fp", "now": 5,
           "resume_after": 0, "expire_at": 9, "max_failures": 3},
    "then": {"guess": {"network": "n", "hash": "g", "pw": "p", "limits": {"free": 5}, "location": "/a",
                       "view": {"name": "f", "size": 5, "exp": 9, "password": True}}},
    "html": True, "id_hash": "h", "max_failures": 3, "missing": "consume"}).encode())
# The target's kind order (fuzz_targets/dynamodb.rs, KINDS).
kinds = ["consume", "resume", "read", "attempt", "guard"]
for v in dyn["vectors"]:
    # The raw layout: 0x80 | kind, the status (two bytes, little-endian), the body.
    status = v["status"].to_bytes(2, "little")
    seed("dynamodb", bytes([0x80 | kinds.index(v["kind"])]) + status + v["body"].encode())


# The strip target: small files of each kind the walkers clean, built here
# (structure only: the walkers never decode pixels), each carrying the
# metadata they remove.
def tiff_orientation(value):
    """A little-endian TIFF block with one IFD entry: Orientation."""
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, value) + b"\x00" * 4


def jpeg_segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def riff_chunk(kind, data):
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


for orientation in (1, 6):
    seed("strip", b"\xff\xd8" + jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
         + jpeg_segment(0xE1, b"Exif\x00\x00" + tiff_orientation(orientation))
         + jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")
         + jpeg_segment(0xED, b"Photoshop 3.0\x00") + jpeg_segment(0xFE, b"a comment")
         + jpeg_segment(0xDB, b"\x00" + bytes(range(1, 65)))
         + jpeg_segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
         + jpeg_segment(0xC4, b"\x00" + b"\x00" * 15 + b"\x00" * 0 + b"\x01" + b"\x00")
         + jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
         + b"\x12\x34\xff\x00\x56\xff\xd0\x78\xff\xff\xd9" + b"trailing data")
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    seed("strip", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"tEXt", b"Author\x00someone")
         + png_chunk(b"eXIf", tiff_orientation(orientation)) + png_chunk(b"tIME", b"\x07\xea\x0c\x02\x00\x00\x00")
         + png_chunk(b"IDAT", zlib.compress(b"\x00\x80")) + png_chunk(b"IEND", b""))
    body = (riff_chunk(b"VP8X", bytes([0x0C, 0, 0, 0]) + b"\x00\x00\x00" + b"\x00\x00\x00")
            + riff_chunk(b"VP8L", b"\x2f\x00\x00\x00\x00\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
            + riff_chunk(b"EXIF", tiff_orientation(orientation)) + riff_chunk(b"XMP ", b"<x:xmpmeta/>"))
    seed("strip", b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body)
seed("strip", b"PK\x03\x04 not an image")

print("seeds:", ", ".join(f"{t} {n}" for t, n in sorted(counts.items())))
