"""The shared vectors through the installed package: edge/vectors/format.json's
golden tokens and every mint-able claim combination of sdk/vectors/mint.json
(tokens from an independent minter)."""

import json

import pytest

import oncelink
from conftest import read_json

NAMES = {"p": "path", "n": "uses", "r": "region", "fn": "filename", "g": "grace", "m": "mode"}


def options_of(claims):
    return {**{NAMES.get(k, k): v for k, v in claims.items()}, "now": 0}


def test_minting_the_golden_claims_gives_the_golden_tokens():
    doc = read_json("edge/vectors/format.json")
    for case in doc["mint"]:
        keys = {**doc["keys"], "active": case["kid"]}
        assert oncelink.mint(keys, **options_of(case["claims"])) == case["token"], case["name"]


def test_verifying_the_golden_tokens_gives_their_expected_answers():
    doc = read_json("edge/vectors/format.json")
    for case in doc["verify"]:
        got = oncelink.verify(doc["keys"], case["token"], now=1767225600)
        assert ("ok" if got["valid"] else got["reason"]) == case["expect"], case["name"]


def test_every_mintable_claim_combination_mints_its_token_or_names_the_option():
    doc = read_json("sdk/vectors/mint.json")
    assert len(doc["cases"]) >= 384
    keys_text = json.dumps(doc["keys"])
    for case in doc["cases"]:
        if "token" in case:
            assert oncelink.mint(keys_text, **case["options"]) == case["token"], case["name"]
            got = oncelink.verify(doc["keys"], case["token"], now=1767225600)
            assert got == {"valid": True, "kid": "sdk", "claims": case["claims"]}, case["name"]
            assert oncelink.inspect(case["token"])["claims"] == case["claims"], case["name"]
        else:
            with pytest.raises(oncelink.Error) as caught:
                oncelink.mint(doc["keys"], **case["options"])
            assert caught.value.reason == case["error"]["reason"], case["name"]
            assert f"option {case['error']['option']}" in str(caught.value), case["name"]
