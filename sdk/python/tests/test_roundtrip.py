"""A link minted by the installed package, served by the real origin-shim
(SQLite store) and checked by the real `oncelink` CLI: it downloads exactly n
times (to n different clients: a client's repeat inside the grace window is a
resume, not a use), and the CLI and the package accept each other's tokens."""

import http.client
import json
import re
import subprocess
import threading
import urllib.parse

import pytest

import oncelink

FILE = "/reports/Q3 résumé.pdf"
BODY = b"the quarterly report\n"


@pytest.fixture
def served(tmp_path, bin_dir):
    files = tmp_path / "files" / "reports"
    files.mkdir(parents=True)
    (files / "Q3 résumé.pdf").write_bytes(BODY)
    keys = subprocess.run([bin_dir / "oncelink", "keygen"], check=True, capture_output=True, text=True).stdout
    keys_path = tmp_path / "keys.json"
    keys_path.write_text(keys)
    keys_path.chmod(0o600)
    help_text = subprocess.run([bin_dir / "origin-shim", "serve", "--help"], capture_output=True, text=True).stdout
    create = ["--create-store"] if "--create-store" in help_text else []
    args = ["serve", "--keys", keys_path, "--root", tmp_path / "files", "--store", f"sqlite:{tmp_path / 'uses.db'}"]
    shim = subprocess.Popen(
        [bin_dir / "origin-shim", *args, *create, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = []
    reader = threading.Thread(target=lambda: base.extend(_listening(shim)), daemon=True)
    reader.start()
    reader.join(30)
    try:
        assert base, "origin-shim did not start within 30 s"
        yield {"keys": keys, "keys_path": keys_path, "base": base[0], "bin_dir": bin_dir}
    finally:
        shim.kill()
        shim.wait(10)


def _listening(proc):
    for line in proc.stdout:
        m = re.match(r"^listening on (http://127\.0\.0\.1:\d+)$", line.strip())
        if m:
            return [m.group(1)]
    return []


def get(base, target, user_agent):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=15)
    try:
        conn.request("GET", target, headers={"user-agent": user_agent, "accept": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.mark.parametrize("uses", [1, 3])
def test_a_link_the_package_mints_downloads_exactly_n_times_from_origin_shim(served, uses):
    token = oncelink.mint(served["keys"], path=FILE, uses=uses, ttl="10m", filename="Q3.pdf")
    url = urllib.parse.urlsplit(oncelink.link(served["base"], FILE, token))
    target = f"{url.path}?{url.query}"
    for i in range(1, uses + 1):
        assert get(served["base"], target, f"client {i}") == (200, BODY), f"use {i}"
    status, body = get(served["base"], target, "one client too many")
    assert json.loads(body)["error"] == "used_up", (status, body)


def test_the_cli_accepts_what_the_package_mints_and_the_package_what_the_cli_mints(served):
    cli = served["bin_dir"] / "oncelink"
    keys, keys_path = served["keys"], served["keys_path"]
    token = oncelink.mint(keys, path=FILE, uses=2, ip="192.0.2.0/24")
    checked = subprocess.run([cli, "verify", "--keys", keys_path, token], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["claims"] == oncelink.verify(keys, token)["claims"]
    minted = subprocess.run(
        [cli, "mint", "--keys", keys_path, "--path", FILE, "--uses", "1", "--base-url", "https://d.example", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(minted.stdout)
    assert out["url"] == oncelink.link("https://d.example", FILE, out["token"]), "the same link for the same token"
    assert oncelink.verify(keys, out["url"])["valid"] is True
