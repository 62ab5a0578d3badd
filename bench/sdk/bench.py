"""The Python package's cost per call of mint and verify, against a
hand-written implementation with Python's hmac measured in the same run
(ratios, not absolute claims). Run by bench/sdk/run-python.sh inside a fresh
virtualenv holding the built wheel. Prints a markdown table.

The baselines: mint is json.dumps + base64url + HMAC-SHA256 (what an app
re-implementing docs/token-v1.md would write; no claim checks); verify splits
the token, checks the MAC with hmac.compare_digest, decodes the claims and
checks time and path (no ip, no prefix rules beyond `/*`).
"""

import base64
import hashlib
import hmac
import json
import os
import platform
import sys
import time

import oncelink

N = 2000 if "--quick" in sys.argv else 20000


ROUNDS = 11


def per_call(ours, base, n):
    """Mean microseconds per call of `ours` and of `base` (or None), after a
    warm-up: ROUNDS rounds of n / ROUNDS calls, the two interleaved round by
    round so both see the same machine load; the median round of each."""
    fns = [ours, base] if base else [ours]
    for fn in fns:
        for _ in range(min(2000, n)):
            fn()
    rounds = [[] for _ in fns]
    for _ in range(ROUNDS):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter_ns()
            for _ in range(n // ROUNDS):
                fn()
            rounds[k].append((time.perf_counter_ns() - t0) / 1000 / (n // ROUNDS))
    medians = [sorted(r)[len(r) // 2] for r in rounds]
    return medians[0], (medians[1] if base else None)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


KEYS_TEXT = oncelink.keygen()
KEYS = json.loads(KEYS_TEXT)
SECRET = b64d(KEYS["keys"][0]["secret"])
PATH = "/reports/q3.pdf"


def mint_by_hand(path, uses, ttl):
    claims = {"id": b64(os.urandom(16)), "p": path, "exp": int(time.time()) + ttl, "n": uses}
    signed = "ol1.k1." + b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    return signed + "." + b64(hmac.new(SECRET, signed.encode("ascii"), hashlib.sha256).digest())


def verify_by_hand(token, path):
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "ol1" or parts[1] != "k1":
        return None
    signed = token[: len(token) - len(parts[3]) - 1]
    mac = hmac.new(SECRET, signed.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(mac, b64d(parts[3])):
        return None
    claims = json.loads(b64d(parts[2]))
    now = time.time()
    if now >= claims["exp"] + 30 or ("nbf" in claims and now < claims["nbf"] - 30):
        return None
    p = claims["p"]
    if not (path == p or (p.endswith("/*") and path.startswith(p[:-1]))):
        return None
    return claims


token = oncelink.mint(KEYS_TEXT, path=PATH, uses=1, ttl="1h")
hand = mint_by_hand(PATH, 1, 3600)
assert oncelink.verify(KEYS_TEXT, hand)["valid"] is True, "the hand-written mint is not a valid token"
assert verify_by_hand(token, PATH) is not None, "the hand-written verify does not accept the package token"
forged = token[:-1] + ("A" if token[-1] != "A" else "B")

rows = [
    (
        "mint (uses 1, ttl 1h)",
        *per_call(lambda: oncelink.mint(KEYS_TEXT, path=PATH, uses=1, ttl="1h"), lambda: mint_by_hand(PATH, 1, 3600), N),
    ),
    ("mint, keys as a dict", *per_call(lambda: oncelink.mint(KEYS, path=PATH, uses=1, ttl="1h"), None, N)),
    (
        "verify (valid)",
        *per_call(lambda: oncelink.verify(KEYS_TEXT, token, path=PATH), lambda: verify_by_hand(token, PATH), N),
    ),
    (
        "verify (forged signature)",
        *per_call(lambda: oncelink.verify(KEYS_TEXT, forged, path=PATH), lambda: verify_by_hand(forged, PATH), N),
    ),
]

print(f"## Python package oncelink: cost per call (Python {platform.python_version()}, {N} calls, median of {ROUNDS} interleaved rounds)\n")
print("| call | oncelink (PyO3) µs | hand-written hmac µs | ratio |")
print("| --- | ---: | ---: | ---: |")
for name, ours, base in rows:
    ratio = "–" if base is None else f"{ours / base:.1f}×"
    print(f"| {name} | {ours:.2f} | {'–' if base is None else f'{base:.2f}'} | {ratio} |")
