"""`npm run smoke:aws` (scripts/smoke-aws.mjs) offline: --help, --dry-run and
its plan (scripts/smoke-aws/plan.mjs). A real run needs a deployed stack and
cannot run here; what it would send and expect is checked instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import ROOT

NODE = shutil.which("node")
SMOKE = ROOT / "scripts" / "smoke-aws.mjs"


def smoke(*args):
    # No aws on PATH: a dry run and --help must not need it.
    env = {"PATH": os.path.dirname(NODE), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([NODE, str(SMOKE), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def plan(opts: dict, facts: dict | None = None) -> dict:
    script = (
        "import * as p from './scripts/smoke-aws/plan.mjs';"
        f"const opts = p.checkOptions({json.dumps(opts)});"
        f"const facts = {json.dumps(facts)} ?? p.dryRunFacts(opts);"
        "try { const run = p.smokePlan(opts, facts, { runId: 'run1', ids: (n) => `id-${n}` });"
        "console.log(JSON.stringify({ run, facts })); } catch (e) { console.log(JSON.stringify({ error: e.message })); }"
    )
    done = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


FACTS = {
    "baseUrl": "https://d1.cloudfront.net", "edgeMode": "lambda", "bucket": "files-b", "table": "shop-tokens",
    "tableRegions": ["eu-west-1", "us-west-2"], "pageMode": False,
}


def test_help_works_offline_and_says_to_run_it_once_after_the_first_deploy():
    done = smoke("--help")
    assert done.returncode == 0, done.stderr
    assert "--stack NAME" in done.stdout and "--dry-run" in done.stdout
    assert "once after your first deploy" in done.stdout


def test_a_dry_run_prints_every_call_and_request_and_needs_no_aws():
    done = smoke("--stack", "shop", "--dry-run", "--ttfb")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "aws cloudformation describe-stacks --region us-east-1 --stack-name shop" in out
    assert "aws s3api put-object" in out and "aws s3api delete-object" in out and "aws dynamodb delete-item" in out
    gets = [line for line in out.splitlines() if line.startswith("GET ")]
    assert len(gets) == 10, gets
    assert "nothing sent" in out
    # Tokens are placeholders: nothing was minted, no key file was read.
    assert all("?t=<" in g for g in gets)


def test_bad_input_is_one_clear_line():
    done = smoke("--stack", "shop")
    assert done.returncode == 2 and "--keys FILE is required" in done.stderr
    done = smoke("--stack", "shop", "--keys", "k.json", "--edge-mode", "lambda")
    assert done.returncode == 2 and "--edge-mode is for --dry-run" in done.stderr


def test_the_consuming_modes_check_two_uses_a_forgery_a_resume_and_a_page():
    for mode in ("lambda", "prefilter"):
        run = plan({"stack": "shop", "keys": "k", "region": "us-west-2"}, {**FACTS, "edgeMode": mode})["run"]
        got = [(r["name"], r["client"], r["expect"]["status"], r["expect"].get("reason")) for r in run["requests"]]
        assert [g[2:] for g in got] == [
            (200, None), (200, None), (410, "used_up"), (403, "bad_signature"),
            (206, None), (206, None), (410, "used_up"), (200, "page"),
        ], got
        # Two clients served, the third refused: three different clients.
        assert [g[1] for g in got[:3]] == [1, 2, 3]
        # The resume is the same client as the Range start, the refused resume another.
        assert got[4][1] == got[5][1] != got[6][1]
        head, tail = run["requests"][4], run["requests"][5]
        assert head["headers"]["range"] == f"bytes=0-{run['split'] - 1}" and tail["headers"]["range"] == f"bytes={run['split']}-"
        links = {l["name"]: l for l in run["links"]}
        assert links["two-uses"]["claims"]["n"] == 2 and links["page"]["claims"]["m"] == "page"
        assert all(l["claims"]["r"] == "us-west-2" for l in run["links"]), "--region picks the table"
        assert all(l["claims"]["p"] == run["path"] for l in run["links"])


def test_function_only_checks_what_that_mode_serves():
    run = plan({"stack": "shop", "keys": "k"}, {**FACTS, "edgeMode": "function-only", "table": None, "tableRegions": []})["run"]
    assert [(r["expect"]["status"], r["expect"].get("reason")) for r in run["requests"]] == [
        (200, None), (200, None), (403, "bad_signature"), (206, None), (403, "needs_consume"),
    ]
    assert not any(step["args"][0] == "dynamodb" for step in run["cleanup"]), "no tables in function-only"


def test_it_cleans_up_every_record_in_its_region_and_the_test_file_version():
    run = plan({"stack": "shop", "keys": "k", "ttfb": True}, FACTS)["run"]
    records = {s["args"][s["args"].index("--key") + 1]: s["args"][s["args"].index("--region") + 1] for s in run["cleanup"] if s["args"][0] == "dynamodb"}
    assert {json.loads(k)["id"]["S"] for k in records} == {l["id"] for l in run["links"]}
    ttfb = [l for l in run["links"] if l["name"].startswith("ttfb-")]
    assert {l["region"] for l in ttfb} == set(FACTS["tableRegions"]), "time to first byte in every home region"
    for l in ttfb:
        assert records[json.dumps({"id": {"S": l["id"]}}, separators=(",", ":"))] == l["region"]
    (delete,) = [s for s in run["cleanup"] if s["args"][:2] == ["s3api", "delete-object"]]
    assert "--version-id" in delete["args"] and run["path"].startswith("/oncelink-smoke/run1/")


def test_it_refuses_what_it_cannot_test():
    assert "no token table" in plan({"stack": "shop", "keys": "k", "region": "ap-south-1"}, FACTS)["error"]
    custom = {**FACTS, "bucket": None}
    assert "--path" in plan({"stack": "shop", "keys": "k"}, custom)["error"]
    run = plan({"stack": "shop", "keys": "k", "path": "/big.iso"}, custom)["run"]
    assert run["setup"] == [] and run["path"] == "/big.iso"


@pytest.mark.parametrize("got, problems", [
    ({"status": 200, "reason": None, "sha256": "x"}, 0),
    ({"status": 403, "reason": "bad_signature", "sha256": "x"}, 1),
    ({"status": 200, "reason": None, "sha256": "y"}, 1),
])
def test_judge_reports_a_wrong_status_or_wrong_bytes(got, problems):
    script = (
        "import { judge } from './scripts/smoke-aws/plan.mjs';"
        f"console.log(JSON.stringify(judge({{ expect: {{ status: 200, body: 'whole' }} }}, {json.dumps(got)}, 'x')));"
    )
    done = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert len(json.loads(done.stdout)) == problems


def test_every_aws_call_of_the_smoke_test_has_its_permissions():
    script = "import { smokeActions } from './scripts/deploy/permissions.mjs'; console.log(JSON.stringify(await smokeActions()));"
    done = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == {"cloudformation:DescribeStacks", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "dynamodb:DeleteItem"}
