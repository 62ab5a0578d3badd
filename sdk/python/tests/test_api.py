"""The wrapper's own promises: keys as text or dict, the clock and the
randomness taken from Python, links with the edge's path encoding, and every
refusal an oncelink.Error with a stable reason and no secret."""

import base64
import json
import re
import time

import pytest

import oncelink

KEYS = oncelink.keygen()
SECRET = json.loads(KEYS)["keys"][0]["secret"]


def refused(reason, pattern, fn, *args, **kwargs):
    with pytest.raises(oncelink.Error) as caught:
        fn(*args, **kwargs)
    assert caught.value.reason == reason
    if pattern:
        assert re.search(pattern, str(caught.value)), str(caught.value)
    assert SECRET not in str(caught.value)
    return caught.value


def test_keygen_draws_a_fresh_32_byte_key_each_call_with_the_kid_asked_for():
    a, b = json.loads(oncelink.keygen()), json.loads(oncelink.keygen(kid="k7"))
    assert (a["active"], b["active"]) == ("k1", "k7")
    assert a["keys"][0]["secret"] != b["keys"][0]["secret"]
    assert len(base64.urlsafe_b64decode(a["keys"][0]["secret"] + "=")) == 32
    refused("bad_option", "kid", oncelink.keygen, kid="bad kid")


def test_a_minted_token_verifies_now_for_its_path_with_keys_as_text_or_dict():
    token = oncelink.mint(KEYS, path="/a b/ü.pdf", uses=2, ttl="1h")
    now = time.time()
    got = oncelink.verify(json.loads(KEYS), token)
    assert got["valid"] is True and got["claims"]["n"] == 2
    assert abs(got["claims"]["exp"] - (now + 3600)) < 5
    assert oncelink.verify(KEYS, token, path="/other") == {
        "valid": False,
        "reason": "wrong_path",
        "message": "This link is not valid for this file.",
    }
    assert oncelink.verify(KEYS, token, now=now + 7200)["reason"] == "expired"
    assert oncelink.verify(oncelink.keygen(), token)["reason"] == "bad_signature"
    assert oncelink.mint(KEYS, path="/x") != oncelink.mint(KEYS, path="/x"), "two mints draw two ids"
    assert oncelink.mint(KEYS, path="/x", uses=None, ip=None).count(".") == 3, "None means absent"


def test_link_percent_encodes_the_path_once_as_the_edge_decodes_it_and_verify_reads_the_link():
    token = oncelink.mint(KEYS, path="/q3 résumé#1?.pdf")
    url = oncelink.link("https://d.example/", "/q3 résumé#1?.pdf", token)
    assert url == f"https://d.example/q3%20r%C3%A9sum%C3%A9%231%3F.pdf?t={token}"
    assert oncelink.verify(KEYS, url)["valid"] is True
    assert oncelink.verify(KEYS, url.replace("%231", "%232"))["reason"] == "wrong_path"
    assert oncelink.link("https://d.example", "/dir/*", "T", param="k") == "https://d.example/dir/?k=T"
    refused("bad_url", None, oncelink.link, "ftp://d.example", "/a", token)


def test_inspect_reads_a_token_or_link_without_the_keys():
    token = oncelink.mint(KEYS, path="/a", filename="a.pdf", id="inspect-me-000000")
    assert oncelink.inspect(oncelink.link("https://d.example", "/a", token)) == oncelink.inspect(token)
    assert oncelink.inspect(token)["claims"]["id"] == "inspect-me-000000"
    refused("malformed", None, oncelink.inspect, "ol1.nope")
    refused("missing_token", None, oncelink.inspect, "https://d.example/a?x=1")


def test_unknown_options_are_refused_by_name_including_those_of_later_issues():
    refused("unknown_option", '"usses"', oncelink.mint, KEYS, path="/a", usses=1)
    assert oncelink.inspect(oncelink.mint(KEYS, path="/a", ref="order-1"))["claims"]["ref"] == "order-1"
    refused("bad_option", "option ref", oncelink.mint, KEYS, path="/a", ref="r" * 65)
    refused("bad_option", "option bind", oncelink.mint, KEYS, path="/a", uses=1, bind="ip")
    refused("bad_option", "option bind", oncelink.mint, KEYS, path="/a", bind=True)
    refused("unknown_option", '"pth"', oncelink.verify, KEYS, "x", pth="/a")
    refused("unknown_option", None, oncelink.link, "https://d.example", "/a", "T", parm="x")
    refused("unknown_option", None, oncelink.keygen, kidd="x")


def test_a_claim_out_of_range_or_a_bad_path_is_an_error_naming_the_option_never_a_token():
    refused("bad_option", "option uses", oncelink.mint, KEYS, path="/a", uses=1_000_001)
    refused("bad_option", "option uses", oncelink.mint, KEYS, path="/a", uses=True)
    refused("bad_option", "option path", oncelink.mint, KEYS, path="/a/../etc/passwd")
    refused("bad_option", "option path", oncelink.mint, KEYS, path="relative")
    refused("bad_option", "option path", oncelink.mint, KEYS)
    refused("bad_option", "ttl and exp", oncelink.mint, KEYS, path="/a", ttl="1h", exp=4102444800)
    refused("bad_option", "option grace", oncelink.mint, KEYS, path="/a", grace=10)
    refused("bad_option", "option password", oncelink.mint, KEYS, path="/a", password="pw")
    refused("bad_option", "option password", oncelink.mint, KEYS, path="/a", uses=1, password="pw", mode="direct")
    refused("bad_option", "option ip", oncelink.mint, KEYS, path="/a", ip="10.0.0.1/8")
    refused("bad_option", "option mode", oncelink.mint, KEYS, path="/a", mode="fast")


def test_a_key_file_without_its_active_key_or_not_a_key_file_is_refused_without_quoting_it():
    file = json.loads(KEYS)
    refused("bad_keys", '"k9"', oncelink.mint, {**file, "active": "k9"}, path="/a")
    refused("bad_keys", None, oncelink.mint, KEYS + "x", path="/a")
    refused("bad_keys", None, oncelink.mint, {"active": "k1", "keys": SECRET}, path="/a")
    refused("bad_keys", None, oncelink.mint, {**file, "extra": SECRET}, path="/a")
    refused("bad_keys", None, oncelink.mint, 42, path="/a")
    bad = json.dumps({"active": "k1", "keys": [{"kid": "k1", "secret": SECRET + "!"}]})
    refused("bad_keys", None, oncelink.verify, bad, "x")
