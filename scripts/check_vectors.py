#!/usr/bin/env python3
"""Checks the shared vectors with an implementation independent of the Rust core.

Every token in edge/vectors/*.json that carries a `mint` recipe is minted again
here, from docs/token-v1.md alone (Python's hmac, hashlib and base64), and must
equal the literal token in the file; every expected store operation's
fingerprint, every password hash (`pw`), every page-mode pass and every 303
location are recomputed the same way (docs/page-mode.md). The path rules and the
claim rules are read from the same page too, and every decision case's expected
reason must agree with them (a path they refuse is `bad_path`, claims they refuse
never get past `malformed`). This is what proves the format document
is enough to write a compatible minter, and what keeps the literal tokens in the
vectors honest.

    python3 scripts/check_vectors.py           # check; exit 1 on any mismatch
    python3 scripts/check_vectors.py --write   # refresh tokens/fingerprints after editing recipes
"""

import argparse
import base64
import hashlib
import hmac
import ipaddress
import json
import pathlib
import string
import sys
import unicodedata
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "edge" / "vectors"
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def bump_last(text: str) -> str:
    """Sets a trailing bit: same decoded bytes for a lax decoder, not canonical."""
    return text[:-1] + B64_ALPHABET[B64_ALPHABET.index(text[-1]) + 1]


def claims_json(claims: dict) -> str:
    """Compact JSON, keys in the given order, UTF-8 kept as is (the format's encoding)."""
    return json.dumps(claims, separators=(",", ":"), ensure_ascii=False)


def mint(recipe: dict, secrets: dict) -> str:
    """Builds a token from a recipe: docs/token-v1.md, section "Signing"."""
    prefix = recipe.get("prefix", "ol1")
    kid = recipe["kid"]
    if "claims_b64" in recipe:
        claims_part = recipe["claims_b64"]
    else:
        if "claims_hex" in recipe:
            raw = bytes.fromhex(recipe["claims_hex"])
        elif "claims_raw" in recipe:
            raw = recipe["claims_raw"].encode("utf-8")
        else:
            raw = claims_json(recipe["claims"]).encode("utf-8")
        claims_part = b64(raw)
        if recipe.get("claims_noncanonical"):
            claims_part = bump_last(claims_part)
    secret = b64d(recipe["secret"]) if "secret" in recipe else secrets[recipe.get("sign_with", kid)]
    signed = f"{prefix}.{kid}.{claims_part}"
    mac = hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest()
    sig = b64(mac[: recipe.get("sig_bytes", 32)])
    if recipe.get("sig_noncanonical"):
        sig = bump_last(sig)
    token = f"{signed}.{sig}{recipe.get('suffix', '')}"
    if "tamper_claims" in recipe:
        # Re-encode different claims but keep the original signature.
        sig_part = token.rsplit(".", 1)[1]
        token = f"{prefix}.{kid}.{b64(claims_json(recipe['tamper_claims']).encode('utf-8'))}.{sig_part}"
    return token


def network_prefix(client_ip: str) -> str:
    """The client's network: IPv4 /24 (IPv4-mapped IPv6 counts as IPv4), IPv6 /48, else the text."""
    try:
        if "%" in client_ip:
            raise ValueError("a zone id is not an address to Rust's parser")
        addr = ipaddress.ip_address(client_ip)
        if addr.version == 6 and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        bits = 24 if addr.version == 4 else 48
        prefix = str(ipaddress.ip_network(f"{addr}/{bits}", strict=False).network_address)
    except ValueError:
        prefix = client_ip
    return prefix


def fingerprint(secret: bytes, client_ip: str, path: str, user_agent: str) -> str:
    """docs/token-v1.md, section "Uses, resumes and the store": prefix, decoded path, User-Agent."""
    msg = b"oncelink/v1/fingerprint"
    for part in [network_prefix(client_ip).encode(), path.encode(), user_agent.encode()]:
        msg += b"\0" + part
    return b64(hmac.new(secret, msg, hashlib.sha256).digest()[:16])


def binding(secret: bytes, client_ip: str, user_agent: str) -> str:
    """docs/token-v1.md, "Bound to the first downloader": prefix and User-Agent, no path."""
    msg = b"oncelink/v1/binding"
    for part in [network_prefix(client_ip).encode(), user_agent.encode()]:
        msg += b"\0" + part
    return b64(hmac.new(secret, msg, hashlib.sha256).digest()[:16])


def is_control(ch: str) -> bool:
    """Unicode general category Cc (Rust's char::is_control)."""
    return unicodedata.category(ch) == "Cc"


def is_clean(path: str) -> bool:
    """docs/token-v1.md, section "Paths": the rules a decoded path (and `p`) obeys."""
    if not path.startswith("/") or "\\" in path or any(is_control(c) for c in path):
        return False
    segments = path[1:].split("/")
    for i, segment in enumerate(segments):
        if segment == "":
            if i != len(segments) - 1:
                return False
        elif segment.split(";", 1)[0] in ("", ".", ".."):
            return False
    return True


def decode_path(raw: str):
    """The request path percent-decoded exactly once, or None when it breaks a path rule."""
    if not raw.startswith("/"):
        return None
    out, i, data = bytearray(), 0, raw.encode("utf-8")
    while i < len(data):
        if data[i] == ord("%"):
            pair = data[i + 1 : i + 3]
            if len(pair) != 2 or any(chr(b) not in string.hexdigits for b in pair):
                return None
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    try:
        path = out.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return path if is_clean(path) else None


MAX_TIME = 253_402_300_799
CLAIM_TYPES = {"id": str, "p": str, "exp": int, "nbf": int, "n": int, "r": str, "ip": str, "fn": str, "g": int,
               "m": str, "pw": str, "b": bool, "ref": str, "lk": int}


def is_cidr(text: str) -> bool:
    """The `ip` claim: an address or address/len (1 to 3 digits) with zero host bits."""
    addr, slash, length = text.partition("/")
    if slash and not (1 <= len(length) <= 3 and length.isascii() and length.isdigit()):
        return False
    if "%" in addr or not addr.isascii():
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    bits = int(length) if slash else ip.max_prefixlen
    return bits <= ip.max_prefixlen and ipaddress.ip_network(f"{addr}/{bits}", strict=False).network_address == ip


def claims_fault(raw: bytes):
    """docs/token-v1.md, section "Claims": the first rule `raw` breaks, or None if it is valid claims."""

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate member")
        return dict(pairs)

    def no_constant(name):
        raise ValueError(f"{name} is not JSON")

    if not raw.startswith(b"{"):
        return "not a JSON object"
    try:
        claims = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constant)
        json.dumps(claims, ensure_ascii=False).encode("utf-8")  # a lone surrogate escape cannot encode
    except (UnicodeError, ValueError) as e:
        return f"not valid JSON: {e}"
    for name, value in claims.items():
        if name not in CLAIM_TYPES:
            return f"unknown member {name}"
        if value is None:
            return f"{name} is null (null is not absent)"
        if not isinstance(value, CLAIM_TYPES[name]) or (isinstance(value, bool) != (CLAIM_TYPES[name] is bool)):
            return f"{name} has the wrong type"
    c = claims
    if not all(k in c for k in ("id", "p", "exp")):
        return "id, p or exp missing"
    if not (16 <= len(c["id"]) <= 64 and all(ch in B64_ALPHABET for ch in c["id"])):
        return "id"
    p = c["p"]
    if not is_clean(p[:-1] if p.endswith("/*") else p):
        return "p"
    if not 0 <= c["exp"] <= MAX_TIME or ("nbf" in c and not 0 <= c["nbf"] < c["exp"]):
        return "exp or nbf"
    if "n" in c and not 1 <= c["n"] <= 1_000_000:
        return "n"
    if "r" in c and not (1 <= len(c["r"]) <= 32 and all(ch in "abcdefghijklmnopqrstuvwxyz0123456789-" for ch in c["r"])):
        return "r"
    if "ip" in c and not is_cidr(c["ip"]):
        return "ip"
    if "fn" in c and not (1 <= len(c["fn"]) <= 255 and not any(is_control(ch) or ch in "/\\" for ch in c["fn"])):
        return "fn"
    if "g" in c and not (0 <= c["g"] <= 86_400 and "n" in c):
        return "g"
    if "m" in c and c["m"] not in ("page", "direct"):
        return "m"
    if "pw" in c:
        pw = c["pw"]
        canonical = len(pw) == 43 and all(ch in B64_ALPHABET for ch in pw) and B64_ALPHABET.index(pw[-1]) & 3 == 0
        if not canonical or "n" not in c or c.get("m") == "direct":
            return "pw"
    if "b" in c and (c["b"] is not True or "n" not in c):
        return "b"
    if "ref" in c and not (1 <= len(c["ref"]) <= 64 and not any(is_control(ch) for ch in c["ref"])):
        return "ref"
    if "lk" in c and not (1 <= c["lk"] <= 100 and "pw" in c):
        return "lk"
    return None


def recipe_claims(recipe: dict):
    """The claims bytes a recipe signs with its own key and encodes canonically, or None
    when the recipe spoils the token some other way (then the claims are never read)."""
    spoilers = ("prefix", "suffix", "secret", "sign_with", "sig_bytes", "sig_noncanonical", "claims_noncanonical",
                "tamper_claims", "claims_b64")
    if any(k in recipe for k in spoilers):
        return None
    if "claims_hex" in recipe:
        return bytes.fromhex(recipe["claims_hex"])
    if "claims_raw" in recipe:
        return recipe["claims_raw"].encode("utf-8")
    return claims_json(recipe["claims"]).encode("utf-8")


def grant(secret: bytes, kid: str, method: str, raw_path: str, token_id: str, now: int) -> str:
    """The origin grant header (edge/src/grant.rs): 60 s, bound to method, decoded path and token id."""
    exp = now + 60
    path = urllib.parse.unquote_to_bytes(raw_path)
    msg = b"oncelink/v1/grant"
    for part in [method.encode(), path, token_id.encode(), str(exp).encode()]:
        msg += b"\0" + part
    return f"g1.{kid}.{exp}.{token_id}.{b64(hmac.new(secret, msg, hashlib.sha256).digest())}"


def password_hash(secret: bytes, token_id: str, password: str) -> str:
    """docs/page-mode.md, claim `pw`."""
    msg = b"oncelink/v1/password\0" + token_id.encode() + b"\0" + password.encode()
    return b64(hmac.new(secret, msg, hashlib.sha256).digest())


def page_pass(secret: bytes, token_id: str, fp: str, issued: int) -> str:
    """docs/page-mode.md, section "The pass": 60 s, bound to the token id and the client."""
    exp = str(issued + 60)
    msg = b"oncelink/v1/pass\0" + token_id.encode() + b"\0" + fp.encode() + b"\0" + exp.encode()
    return f"{exp}.{b64(hmac.new(secret, msg, hashlib.sha256).digest()[:16])}"


def network(secret: bytes, client_ip: str) -> str:
    """docs/page-mode.md, "Throttling": the keyed hash of the network prefix alone, 8 characters."""
    msg = b"oncelink/v1/network\0" + network_prefix(client_ip).encode()
    return b64(hmac.new(secret, msg, hashlib.sha256).digest()[:6])


THROTTLE_DEFAULTS = {"free": 5, "backoff": 60, "backoff_cap": 3600, "link_ceiling": 20, "window": 3600}
MAX_NETWORKS, NETWORK_MEMORY, MAX_COUNT = 16, 86400, 99999


def throttle_parse(text: str):
    """The store's throttle string as (start, count, [[id, fails, last, until], ...]); "" is fresh."""
    if text == "":
        return [0, 0, []]
    head, *entries = text.split("/")
    start, count = head.split(".")
    nets = []
    for entry in entries:
        net, fails, last, until = entry.split(".")
        nets.append([net, int(fails), int(last), int(until)])
    return [int(start), int(count), nets]


def throttle_encode(state) -> str:
    start, count, nets = state
    return f"{start:011}.{count:05}" + "".join(f"/{n}.{f:05}.{l:011}.{u:011}" for n, f, l, u in nets)


def throttle_wait(state, limits: dict, net: str, now: int):
    """Seconds `net` waits at `now`, or None: the longer of its own wait and the link's."""
    start, count, nets = state
    own = max([u - now for n, _, _, u in nets if n == net] or [0])
    end = start + limits["window"]
    link = end - now if now < end and count >= limits["link_ceiling"] else 0
    wait = max(own, link)
    return wait if wait > 0 else None


def throttle_after(state, limits: dict, net: str, now: int, wrong: bool):
    """docs/page-mode.md, "Throttling": the state a checked guess writes."""
    start, count, nets = state[0], state[1], [list(n) for n in state[2]]
    if count == 0 or now >= start + limits["window"]:
        start, count = now, 0
    nets = [n for n in nets if n[0] == net or n[3] > now or now < n[2] + NETWORK_MEMORY]
    mine = next((n for n in nets if n[0] == net), None)
    if mine is None:
        if len(nets) == MAX_NETWORKS:
            nets.pop(0)
        mine = [net, 0, 0, 0]
        nets.append(mine)
    if now >= mine[2] + NETWORK_MEMORY:
        mine[1] = 0
    if wrong:
        count = min(count + 1, MAX_COUNT)
        mine[1] = min(mine[1] + 1, MAX_COUNT)
        mine[2] = now
        if mine[1] >= limits["free"]:
            wait = min(limits["backoff"] << min(mine[1] - limits["free"], 20), limits["backoff_cap"])
            mine[3] = now + wait
    return [start, count, nets]


def secrets_of(config: dict) -> dict:
    return {k["kid"]: b64d(k["secret"]) for k in config["keys"]["keys"]}


def merged_config(base: dict, case: dict) -> dict:
    config = dict(base)
    config.update(case.get("config", {}))
    return config


class Reconciler:
    """Compares literal values in a vector file with recomputed ones: collects a
    problem per mismatch, or (with --write) replaces the literal."""

    def __init__(self, path: pathlib.Path, write: bool):
        self.path, self.write, self.problems = path, write, []

    def __call__(self, holder, key, want, what: str) -> None:
        current = holder.get(key) if isinstance(holder, dict) else holder[key]
        if current == want:
            return
        if self.write:
            holder[key] = want
        else:
            self.problems.append(f"{self.path.name}: {what}")

    def save(self, doc) -> list:
        if self.write:
            self.path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return self.problems


# What a request may be answered before its claims are read (docs/token-v1.md, "Decisions", steps 1-6).
BEFORE_CLAIMS = {"method_not_allowed", "bad_path", "missing_token", "malformed"}


def stateless_disagreements(case: dict) -> list:
    """Holds a case's expected reason to the path and claim rules as this file reads them from the doc:
    a request path that breaks the path rules is `bad_path` and only such a path is; a token whose
    claims break a claim rule is never answered past step 6; a `claims_*` case that expects
    `malformed` names a claim rule that is broken."""
    req, expect = case["request"], case.get("expect", {})
    reason = expect.get("reason") if expect.get("step") == "respond" else expect.get("step")
    problems = []
    if req["method"] in ("GET", "HEAD", "POST") and reason != "method_not_allowed":
        clean = decode_path(req["path"]) is not None
        if clean == (reason == "bad_path"):
            problems.append(f"path {req['path']!r} is {'clean' if clean else 'not clean'} by the path rules, "
                            f"but the case expects {reason}")
    raw = recipe_claims(case["mint"]) if "mint" in case else None
    if raw is not None:
        fault = claims_fault(raw)
        if fault is not None and reason not in BEFORE_CLAIMS:
            problems.append(f"the claims break a rule ({fault}) but the case expects {reason}")
        if fault is None and reason == "malformed" and case["name"].startswith("claims_"):
            problems.append("the case expects malformed claims but they break no claim rule")
    return problems


# Cross-origin reads (docs/token-v1.md, "Cross-origin requests").
CORS_EXPOSE = "x-oncelink-reason, content-disposition"


def cors_disagreements(case: dict, config: dict) -> list:
    """Holds a case to the CORS rules as this file reads them from the doc: with `cors_origins`, an
    OPTIONS with Origin and Access-Control-Request-Method is a 204 `preflight` and every answer the edge
    writes (whose headers the case lists) ends with Vary: Origin, then, for an allowed Origin only,
    Access-Control-Allow-Origin (that origin) and Access-Control-Expose-Headers; without it no answer
    carries a CORS header."""
    allowed = config.get("cors_origins") or []
    headers = {k.lower(): v for k, v in case["request"].get("headers", {}).items()}
    origin = headers.get("origin")
    problems = []
    expects = [case.get("expect", {})] + [e for r in case.get("replies", []) for e in reply_expects(r)]
    preflight = case["request"]["method"] == "OPTIONS" and origin is not None and "access-control-request-method" in headers
    if allowed and preflight and (expects[0].get("reason"), expects[0].get("status")) != ("preflight", 204):
        problems.append("a preflight under cors_origins is not answered 204 preflight")
    for expect in expects:
        if expect.get("step") != "respond" or "headers" not in expect:
            continue
        cors = [h for h in expect["headers"] if h[0] == "vary" or h[0].startswith("access-control-")]
        cors = [h for h in cors if h[0] in ("vary", "access-control-allow-origin", "access-control-expose-headers")]
        if not allowed:
            want = []
        elif origin in allowed:
            want = [["vary", "origin"], ["access-control-allow-origin", origin], ["access-control-expose-headers", CORS_EXPOSE]]
        else:
            want = [["vary", "origin"]]
        if cors != want or (want and expect["headers"][-len(want):] != want):
            problems.append(f"{expect.get('reason')}: CORS headers {cors}, the rules say {want} (last)")
    return problems


def ask_disagreements(case: dict, config: dict) -> list:
    """Holds a case to the host contract as this file reads it from the doc (docs/token-v1.md, "The host
    contract"): a request carries no body and no file size (the core asks for them); only a POST is asked
    for its body; only a deployment with ask_file_size is asked a file's size, for the request's path;
    no answer is asked for twice on one path."""
    problems = [f"the request carries {k!r}: the core asks for it" for k in ("body", "file_size") if k in case["request"]]

    def walk(expect: dict, replies: list, asked: list):
        step = expect.get("step")
        if step == "need_body" and case["request"]["method"] != "POST":
            problems.append("a need_body for a request that is not a POST")
        if step == "need_file_size":
            if not config.get("ask_file_size"):
                problems.append("a need_file_size without ask_file_size")
            if expect.get("path", case["request"]["path"]) != case["request"]["path"]:
                problems.append("a need_file_size for another path than the request's")
        if step in asked:
            problems.append(f"{step} asked twice")
        answer = {"need_body": "body", "need_file_size": "file_size", "need_store": "reply"}.get(step)
        for reply in replies:
            if answer is None or answer not in reply:
                problems.append(f"a reply without {answer!r} to a {step}")
                continue
            walk(reply.get("expect", {}), reply.get("then", []), asked + ([step] if step != "need_store" else []))

    walk(case.get("expect", {}), case.get("replies", []), [])
    return problems


def check_decide(path: pathlib.Path, write: bool) -> list:
    doc = json.loads(path.read_text("utf-8"))
    fix = Reconciler(path, write)
    names = set()
    for case in doc["cases"]:
        name = case["name"]
        if name in names:
            fix.problems.append(f"{path.name}: duplicate case name {name}")
        names.add(name)
        config = merged_config(doc["config"], case)
        secrets = secrets_of(config)
        if "mint" in case and "password" in case["mint"]:
            recipe = case["mint"]
            want = password_hash(secrets[recipe["kid"]], recipe["claims"]["id"], recipe["password"])
            fix(recipe["claims"], "pw", want, f"{name}: pw is not the keyed hash of the recipe's password")
        if "mint" in case:
            fix(case, "token", mint(case["mint"], secrets), f"{name}: token does not match its mint recipe")
        req = case["request"]
        fix.problems += [f"{path.name}: {name}: {p}" for p in stateless_disagreements(case)]
        fix.problems += [f"{path.name}: {name}: {p}" for p in cors_disagreements(case, config)]
        fix.problems += [f"{path.name}: {name}: {p}" for p in ask_disagreements(case, config)]
        if "pass_recipe" in case:
            recipe = case["pass_recipe"]
            kid = case["token"].split(".")[1]
            headers = {k.lower(): v for k, v in req.get("headers", {}).items()}
            fp = fingerprint(
                secrets[kid],
                recipe.get("ip", req.get("ip", "")),
                decode_path(recipe.get("path", req["path"])),
                recipe.get("user_agent", headers.get("user-agent", "")),
            )
            token_id = recipe.get("id", case["mint"]["claims"]["id"])
            fix(case, "pass", page_pass(secrets[kid], token_id, fp, recipe["issued"]), f"{name}: pass is not the edge's pass")
        store_expect, store_replies = store_step(case)
        op = store_expect.get("pending", {}).get("op")
        if op is not None and "fp" in op:
            headers = {k.lower(): v for k, v in req.get("headers", {}).items()}
            kid = case["token"].split(".")[1]
            want = fingerprint(secrets[kid], req.get("ip", ""), decode_path(req["path"]), headers.get("user-agent", ""))
            fix(op, "fp", want, f"{name}: expected fingerprint is not the keyed hash of the request")
            claims = json.loads(b64d(case["token"].split(".")[2]))
            if claims.get("b") is True and op.get("kind") in ("consume", "resume", "read"):
                want = binding(secrets[kid], req.get("ip", ""), headers.get("user-agent", ""))
                fix(op, "bind", want, f"{name}: expected binding is not the keyed hash of the request's client")
            elif "bind" in op:
                fix.problems.append(f"{path.name}: {name}: an op binds only a consume, resume or read of a b link")
        expects = [case.get("expect", {})] + [e for r in case.get("replies", []) for e in reply_expects(r)]
        if op is not None and op.get("kind") == "guard":
            fix.problems += [f"{path.name}: {name}: {p}" for p in check_guesses(case, store_replies, config, secrets, fix)]
        for expect in expects:
            if expect.get("reason") == "pass_issued" and "headers" in expect:
                headers = {k.lower(): v for k, v in req.get("headers", {}).items()}
                kid = case["token"].split(".")[1]
                fp = fingerprint(secrets[kid], req.get("ip", ""), decode_path(req["path"]), headers.get("user-agent", ""))
                pass_param = config.get("pass_param", "pass")
                kept = [p for p in req.get("query", "").replace("{token}", case["token"]).split("&")
                        if p and p.split("=")[0] != pass_param]
                kept.append(f"{pass_param}={page_pass(secrets[kid], case['mint']['claims']['id'], fp, case['now'])}")
                want = f"{req['path']}?{'&'.join(kept)}"
                for header in expect["headers"]:
                    if header[0] == "location":
                        fix(header, 1, want, f"{name}: expected location is not the link with the edge's pass")
            for header in expect.get("set_headers", []):
                if header[0] == "x-oncelink-grant":
                    keys = config["grant_keys"]
                    kid = keys["active"]
                    secret = next(b64d(k["secret"]) for k in keys["keys"] if k["kid"] == kid)
                    want = grant(secret, kid, req["method"], req["path"], case["mint"]["claims"]["id"], case["now"])
                    fix(header, 1, want, f"{name}: expected grant is not the edge's grant for this request")
    return fix.save(doc)


def store_step(case: dict) -> tuple:
    """The first store step a case reaches and the replies given to it: past the steps that ask the host
    for the body or the file's size (each answered by the case's first reply to it)."""
    expect, replies = case.get("expect", {}), case.get("replies", [])
    while expect.get("step") in ("need_body", "need_file_size") and replies:
        expect, replies = replies[0].get("expect", {}), replies[0].get("then", [])
    return expect, replies


def reply_expects(reply: dict) -> list:
    """A reply's expected step and those of the replies chained after it (`then`)."""
    return [reply.get("expect", {})] + [e for r in reply.get("then", []) for e in reply_expects(r)]


def check_guesses(case: dict, replies: list, config: dict, secrets: dict, fix) -> list:
    """A password POST: after each `guarded` reply, the 429 and its Retry-After while this network or the
    link waits, else the attempt with the throttle state the guess writes (docs/page-mode.md)."""
    req = case["request"]
    kid = case["token"].split(".")[1]
    net = network(secrets[kid], req.get("ip", ""))
    limits = dict(THROTTLE_DEFAULTS, **config.get("password_throttle", {}))
    now = case["now"]
    problems = []
    for reply in replies:
        got, expect = reply["reply"], reply.get("expect", {})
        # The deployment's lock and the token's own (lk): the lower holds.
        locks = [x for x in (config.get("max_password_failures"), case["mint"]["claims"].get("lk")) if x is not None]
        lock = min(locks) if locks else None
        if got.get("reply") != "guarded" or got.get("revoked") or got.get("used", 0) >= case["mint"]["claims"]["n"]:
            continue
        if lock is not None and got.get("failures", 0) >= lock:
            continue
        try:
            state = throttle_parse(got["throttle"])
        except ValueError:
            if expect.get("reason") != "store_unavailable":
                problems.append(f"an unreadable throttle state must be store_unavailable, not {expect}")
            continue
        wait = throttle_wait(state, limits, net, now)
        if wait is not None:
            if expect.get("reason") != "too_many_attempts":
                problems.append(f"the network waits {wait} s but the case expects {expect}")
            for header in expect.get("headers", []):
                if header[0] == "retry-after":
                    fix(header, 1, str(wait), f"{case['name']}: Retry-After is not the wait")
            continue
        op = expect.get("pending", {}).get("op", {})
        if op.get("kind") != "attempt":
            problems.append(f"an unthrottled guess must make an attempt, the case expects {expect}")
            continue
        fix(op, "version", got["version"], f"{case['name']}: the attempt's version is not the one read")
        after = throttle_encode(throttle_after(state, limits, net, now, op.get("miss") == 1))
        fix(op, "throttle", after, f"{case['name']}: the attempt's throttle state is not the one the guess writes")
    return problems


def check_format(path: pathlib.Path, write: bool) -> list:
    doc = json.loads(path.read_text("utf-8"))
    secrets = {k["kid"]: b64d(k["secret"]) for k in doc["keys"]["keys"]}
    fix = Reconciler(path, write)
    for case in doc["mint"]:
        want = mint({"kid": case["kid"], "claims": case["claims"]}, secrets)
        fix(case, "token", want, f"mint {case['name']}: token differs from an independent minter")
    for case in doc["verify"]:
        if "mint" in case:
            fix(case, "token", mint(case["mint"], secrets), f"verify {case['name']}: token does not match its mint recipe")
    return fix.save(doc)


# docs/events.md: the refusals that are events, and the client's families (first match wins).
EVENT_REFUSALS = ["expired", "not_yet_valid", "wrong_path", "ip_mismatch", "used_up", "revoked", "resume_denied",
                  "wrong_password", "too_many_attempts", "locked", "bound_elsewhere"]
AGENTS = [("Edg", "edge"), ("OPR/", "opera"), ("Firefox/", "firefox"), ("FxiOS", "firefox"), ("CriOS", "chrome"),
          ("Chrome/", "chrome"), ("Safari/", "safari"), ("curl/", "curl"), ("Wget/", "wget"), ("python", "python"),
          ("Go-http-client", "go"), ("okhttp", "java"), ("Java/", "java")]
SYSTEMS = [("Windows", "windows"), ("Android", "android"), ("iPhone", "ios"), ("iPad", "ios"), ("CrOS", "chromeos"),
           ("Mac OS X", "macos"), ("Macintosh", "macos"), ("Linux", "linux")]


def rfc3339(secs: int) -> str:
    import datetime
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_event(case: dict, secrets: dict):
    """docs/events.md: the payload a host must build for the case's outcome, or None (no event)."""
    token = case["token"]
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "ol1" or parts[1] not in secrets:
        return None
    signed = ".".join(parts[:3]).encode()
    if b64(hmac.new(secrets[parts[1]], signed, hashlib.sha256).digest()) != parts[3]:
        return None
    raw = b64d(parts[2])
    if claims_fault(raw) is not None:
        return None
    claims = json.loads(raw)
    outcome = case["outcome"]
    data = {"id": claims["id"], "ref": claims.get("ref")}
    if isinstance(outcome, dict) and "counted" in outcome:
        kind = "link.used"
        data.update(used=outcome["counted"], limit=claims["n"], remaining=claims["n"] - outcome["counted"])
    elif outcome == "resumed":
        kind = "link.resumed"
        if "n" in claims:
            data["limit"] = claims["n"]
    elif outcome["refused"] in EVENT_REFUSALS:
        kind = "link.refused"
        if "n" in claims:
            data["limit"] = claims["n"]
        data["reason"] = outcome["refused"]
    else:
        return None
    req = case["request"]
    ua = next((v for k, v in req.get("headers", {}).items() if k.lower() == "user-agent"), "")
    agent = "none" if not ua.strip() else next((f for n, f in AGENTS if n in ua), "other")
    system = next((f for n, f in SYSTEMS if n in ua), "other")
    msg = b"oncelink/v1/event-network\0" + claims["id"].encode() + b"\0" + network_prefix(req.get("ip", "")).encode()
    label = b64(hmac.new(secrets[parts[1]], msg, hashlib.sha256).digest()[:6])
    data["client"] = {"agent": agent, "os": system, "network": label}
    return {"type": kind, "timestamp": rfc3339(case["now"]), "data": data}


def check_events(path: pathlib.Path, write: bool) -> list:
    doc = json.loads(path.read_text("utf-8"))
    secrets = secrets_of(doc["config"])
    fix = Reconciler(path, write)
    for case in doc["cases"]:
        if "mint" in case:
            fix(case, "token", mint(case["mint"], secrets), f"{case['name']}: token does not match its mint recipe")
        fix(case, "expect", expected_event(case, secrets), f"{case['name']}: the event differs from docs/events.md")
    return fix.save(doc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="refresh literal tokens and fingerprints")
    args = parser.parse_args()
    problems = check_format(VECTORS / "format.json", args.write)
    problems += check_decide(VECTORS / "decide.json", args.write)
    problems += check_events(VECTORS / "events.json", args.write)
    for p in problems:
        print(f"check_vectors: {p}", file=sys.stderr)
    cases = len(json.loads((VECTORS / "decide.json").read_text("utf-8"))["cases"])
    fmt = json.loads((VECTORS / "format.json").read_text("utf-8"))
    total = cases + len(fmt["mint"]) + len(fmt["verify"])
    total += len(json.loads((VECTORS / "events.json").read_text("utf-8"))["cases"])
    print(f"check_vectors: {total - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
