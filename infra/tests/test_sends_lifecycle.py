"""The lifecycle backstop of `oncelink send --bucket` (docs/sends.md, "On AWS").

The CLI tags each sent object `oncelink-expire=<d>d` with d the smallest of its
EXPIRY_TAGS that outlives the link; the files bucket must expire every one of
those tags after d days, under sends/ only, in the template and the Terraform
module alike, or a sent file outlives its link for good.
"""

import re

from conftest import ROOT, TF_DIR, load_tf_dir, only_resource, tf_resources


def cli_tags() -> list[int]:
    source = (ROOT / "cli" / "src" / "s3" / "mod.rs").read_text()
    found = re.search(r"pub const EXPIRY_TAGS: \[u32; \d+\] = \[([0-9, ]+)\];", source)
    assert found, "EXPIRY_TAGS not found in cli/src/s3/mod.rs"
    return [int(d) for d in found.group(1).split(",")]


def test_the_template_expires_every_tag_the_cli_sets_under_sends_only(main_template):
    _, bucket = only_resource(main_template, "AWS::S3::Bucket")
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = {}
    for rule in rules:
        if "ExpirationInDays" in rule:
            assert rule["Prefix"] == "sends/", f"{rule['Id']} reaches outside sends/"
            (tag,) = rule["TagFilters"]
            assert tag["Key"] == "oncelink-expire"
            expiring[tag["Value"]] = rule["ExpirationInDays"]
    assert expiring == {f"{d}d": d for d in cli_tags()}
    assert any("AbortIncompleteMultipartUpload" in r for r in rules)


def test_the_terraform_module_expires_the_same_tags():
    resources = tf_resources(load_tf_dir(TF_DIR))
    (config,) = [body for (t, _), body in resources.items() if t == "aws_s3_bucket_lifecycle_configuration"]
    expiring = {}
    for rule in config["rule"]:
        if "expiration" in rule:
            (flt,) = rule["filter"]
            (both,) = flt["and"]
            assert both["prefix"] == "sends/", f"{rule['id']} reaches outside sends/"
            ((key, value),) = both["tags"].items()
            assert key == "oncelink-expire"
            (expiration,) = rule["expiration"]
            expiring[value] = expiration["days"]
    assert expiring == {f"{d}d": d for d in cli_tags()}
