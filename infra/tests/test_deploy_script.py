"""`npm run deploy` (scripts/deploy.mjs) without AWS: the dry run, its checks and its refusals.

The dry run must print every AWS CLI call a deploy makes and the template
parameters, exit 0, and never print a secret. The real build runs when no
--bundle is given (it needs edge/pkg from scripts/build-wasm.sh).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, load_template

NODE = shutil.which("node")
DEPLOY = ROOT / "scripts" / "deploy.mjs"


def run(*args, env=None, timeout=120):
    assert NODE, "node is not on PATH"
    return subprocess.run([NODE, str(DEPLOY), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def key_file(path, kid="k1"):
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    path.write_text(json.dumps({"active": kid, "keys": [{"kid": kid, "secret": secret}]}))
    return path, secret


@pytest.fixture()
def keys(tmp_path):
    return key_file(tmp_path / "keys.json")


def random_zip(path, size):
    """A stand-in zip of random bytes: (path, sha256 hex, sha256 base64)."""
    data = secrets.token_bytes(size)
    path.write_bytes(data)
    digest = hashlib.sha256(data).digest()
    return path, digest.hex(), base64.b64encode(digest).decode()


@pytest.fixture()
def bundle(tmp_path):
    return random_zip(tmp_path / "bundle.zip", 4096)


def aws_calls(stdout):
    return [line for line in stdout.splitlines() if line.startswith("aws ")]


def main_parameters(stdout):
    m = re.search(r"# template parameters, infra/cloudformation/oncelink\.yaml \(stack [^)]+\):\n(\{.*?\n\})\n", stdout, re.S)
    assert m, f"no main template parameters in:\n{stdout}"
    return json.loads(m.group(1))


def test_dry_run_prints_every_call_in_order_and_the_parameters(keys, bundle):
    keys_path, key_secret = keys
    zip_path, hex_sha, b64_sha = bundle
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--dry-run")
    assert out.returncode == 0, out.stderr
    calls = aws_calls(out.stdout)
    assert [" ".join(c.split()[1:3]) for c in calls] == [
        "sts get-caller-identity",
        "cloudformation deploy",      # artifacts bucket
        "cloudformation describe-stacks",
        "cloudformation deploy",      # token table, home region
        "s3api put-object",
        "cloudformation deploy",      # main stack
        "cloudformation describe-stacks",
        "lambda get-function-configuration",
        "cloudfront wait",
    ]
    assert "--stack-name shop-artifacts" in calls[1] and "artifacts.yaml" in calls[1]
    assert "--region us-east-1 --stack-name shop-tokens" in calls[3] and "TableName=shop-tokens" in calls[3]
    assert f"--checksum-sha256 {b64_sha}" in calls[4] and f"--key lambda-edge/{hex_sha}.zip" in calls[4]
    assert "--stack-name shop " in calls[5] and "oncelink.yaml" in calls[5] and "CAPABILITY_IAM" in calls[5]
    assert f"BundleCodeSha256={b64_sha}" in calls[5]
    params = main_parameters(out.stdout)
    template_params = load_template("oncelink.yaml")["Parameters"]
    assert set(params) <= set(template_params), "the script passes a parameter the template lacks"
    required = {k for k, v in template_params.items() if "Default" not in v}
    assert required <= set(params), f"required parameters not passed: {required - set(params)}"
    for name, value in params.items():
        pattern = template_params[name].get("AllowedPattern")
        if pattern and not value.startswith("<"):
            assert re.fullmatch(pattern, value), f"{name}={value!r} fails the template's AllowedPattern"
        allowed = template_params[name].get("AllowedValues")
        if allowed:
            assert value in [str(a) for a in allowed], f"{name}={value!r} not in {allowed}"
    assert params["BundleCodeSha256"] == b64_sha and params["CodeKey"] == f"lambda-edge/{hex_sha}.zip"
    assert params["TableName"] == "shop-tokens" and params["HomeRegion"] == "us-east-1"
    assert params["EnablePageMode"] == "false" and params["OriginType"] == "s3"
    assert key_secret not in out.stdout + out.stderr, "the dry run printed a signing key"
    assert "nothing changed" in out.stdout


def test_the_rate_limit_web_acl_is_off_unless_asked_for(keys, bundle):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    params = main_parameters(run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--dry-run").stdout)
    assert (params["WafRateLimit"], params["WafRateLimitWindowSec"], params["WebAclArn"]) == ("0", "300", "")
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--dry-run",
              "--waf-rate-limit", "2000", "--waf-rate-limit-window", "60")
    assert out.returncode == 0, out.stderr
    params = main_parameters(out.stdout)
    assert (params["WafRateLimit"], params["WafRateLimitWindowSec"]) == ("2000", "60")


def test_dry_run_with_more_regions_custom_origin_and_page_mode(keys, bundle, tmp_path):
    keys_path, key_secret = keys
    zip_path, _, _ = bundle
    grant_file, grant = key_file(tmp_path / "grant-keys.json", kid="g1")
    out = run(
        "--stack", "media", "--keys", keys_path, "--bundle", zip_path, "--dry-run",
        "--home-region", "eu-west-1", "--extra-regions", "us-west-2,ap-southeast-2",
        "--origin", "custom", "--origin-domain", "files.example.com", "--grant-keys", grant_file,
        "--page-mode", "--no-deletion-protection",
    )
    assert out.returncode == 0, out.stderr
    calls = aws_calls(out.stdout)
    table_calls = [c for c in calls if "token-table.yaml" in c]
    assert [re.search(r"--region (\S+)", c).group(1) for c in table_calls] == ["eu-west-1", "us-west-2", "ap-southeast-2"]
    assert all("DeletionProtection=false" in c for c in table_calls)
    params = main_parameters(out.stdout)
    assert params["HomeRegion"] == "eu-west-1" and params["AdditionalHomeRegions"] == "us-west-2,ap-southeast-2"
    assert params["OriginType"] == "custom" and params["CustomOriginDomainName"] == "files.example.com"
    assert params["EnablePageMode"] == "true"
    shown = json.loads(re.search(r"# bundle config \(secrets not shown\): (\{.*\})", out.stdout).group(1))
    assert shown["validator"]["origin"] == "header"
    assert shown["validator"]["grant_keys"] == {"active": "g1", "kids": ["g1"]}
    assert grant not in out.stdout + out.stderr, "the dry run printed a grant key"
    assert key_secret not in out.stdout + out.stderr


def test_the_real_build_bakes_the_grant_keys_for_a_custom_origin(keys, tmp_path):
    keys_path, _ = keys
    require_wasm()
    grant_file, grant = key_file(tmp_path / "grant-keys.json", kid="g7")
    out = run("--stack", "ci-custom", "--keys", keys_path, "--origin", "custom", "--origin-domain", "files.example.com",
              "--grant-keys", grant_file, "--dry-run")
    assert out.returncode == 0, out.stderr
    baked = baked_config(ROOT / "dist" / "deploy" / "ci-custom" / "lambda-edge" / "index.mjs")
    assert baked["validator"]["origin"] == "header"
    assert baked["validator"]["grant_keys"]["keys"][0] == {"kid": "g7", "secret": grant}
    assert baked["store"] == {"table": "ci-custom-tokens"}


def test_grant_keys_must_not_be_the_signing_keys(keys, bundle):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    out = run("--stack", "media", "--keys", keys_path, "--bundle", zip_path, "--origin", "custom",
              "--origin-domain", "files.example.com", "--grant-keys", keys_path, "--dry-run")
    assert out.returncode == 1 and "reuse a signing key" in out.stderr


def baked_config(index_mjs):
    """The config a built bundle carries, read by importing it as Lambda would."""
    script = f"import({json.dumps(index_mjs.as_uri())}).then((m) => process.stdout.write(JSON.stringify(m.bakedConfig)))"
    out = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def require_wasm():
    if not (ROOT / "scripts" / "build-bundle.mjs").exists():
        pytest.fail("scripts/build-bundle.mjs is missing")
    if not (ROOT / "edge" / "pkg" / "oncelink_edge_wasm_bg.wasm").exists():
        pytest.fail("edge/pkg is missing: run 'bash scripts/build-wasm.sh' first (infra/tests/run.sh does)")


def test_dry_run_builds_the_real_bundle_with_the_config_baked_in(keys):
    keys_path, _ = keys
    require_wasm()
    first = run("--stack", "ci-dry-run", "--keys", keys_path, "--home-region", "eu-central-1", "--dry-run")
    assert first.returncode == 0, first.stderr
    zip_path = ROOT / "dist" / "deploy" / "ci-dry-run" / "lambda-edge.zip"
    digest = hashlib.sha256(zip_path.read_bytes()).digest()
    assert main_parameters(first.stdout)["BundleCodeSha256"] == base64.b64encode(digest).decode()
    baked = baked_config(ROOT / "dist" / "deploy" / "ci-dry-run" / "lambda-edge" / "index.mjs")
    assert baked["store"] == {"table": "ci-dry-run-tokens"}, "the deployment's table is not baked in"
    assert baked["validator"]["home_region"] == "eu-central-1" and baked["validator"]["origin"] == "s3"
    assert baked["validator"]["keys"] == json.loads(keys_path.read_text())
    assert "grant_keys" not in baked["validator"]
    assert "cors_origins" not in baked["validator"], "CORS is off unless asked for"
    assert main_parameters(first.stdout)["CorsOrigins"] == ""
    second = run("--stack", "ci-dry-run", "--keys", keys_path, "--home-region", "eu-central-1", "--dry-run")
    assert second.returncode == 0, second.stderr
    assert main_parameters(second.stdout)["BundleCodeSha256"] == main_parameters(first.stdout)["BundleCodeSha256"], "the build is not deterministic"


def test_store_times_given_to_the_deploy_are_baked_into_the_bundle(keys):
    keys_path, _ = keys
    require_wasm()
    out = run("--stack", "ci-times", "--keys", keys_path, "--store-attempt-ms", "1500", "--store-budget-ms", "3500", "--dry-run")
    assert out.returncode == 0, out.stderr
    baked = baked_config(ROOT / "dist" / "deploy" / "ci-times" / "lambda-edge" / "index.mjs")
    assert baked["store"] == {"table": "ci-times-tokens", "attempt_timeout_ms": 1500, "budget_ms": 3500}
    # The build prints what it bakes, defaults filled in.
    assert '"attempt_timeout_ms":1500,"budget_ms":3500,"remember_ttl_ms":60000' in out.stderr + out.stdout


def test_a_page_mode_default_is_baked_into_the_bundle(keys):
    keys_path, _ = keys
    require_wasm()
    out = run("--stack", "ci-page", "--keys", keys_path, "--page-mode", "--default-mode", "page", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert main_parameters(out.stdout)["EnablePageMode"] == "true"
    baked = baked_config(ROOT / "dist" / "deploy" / "ci-page" / "lambda-edge" / "index.mjs")
    assert baked["validator"]["default_mode"] == "page"
    plain = run("--stack", "ci-page", "--keys", keys_path, "--page-mode", "--dry-run")
    assert plain.returncode == 0, plain.stderr
    baked = baked_config(ROOT / "dist" / "deploy" / "ci-page" / "lambda-edge" / "index.mjs")
    assert "default_mode" not in baked["validator"], "direct is the core's default: nothing to bake"


def test_cors_origins_go_to_the_bundle_and_the_template_from_one_list(keys):
    keys_path, _ = keys
    require_wasm()
    out = run("--stack", "ci-cors", "--keys", keys_path, "--cors-origin", "https://app.example.com",
              "--cors-origin=http://localhost:8080", "--dry-run")
    assert out.returncode == 0, out.stderr
    params = main_parameters(out.stdout)
    assert params["CorsOrigins"] == "https://app.example.com,http://localhost:8080"
    assert re.fullmatch(load_template("oncelink.yaml")["Parameters"]["CorsOrigins"]["AllowedPattern"], params["CorsOrigins"])
    baked = baked_config(ROOT / "dist" / "deploy" / "ci-cors" / "lambda-edge" / "index.mjs")
    assert baked["validator"]["cors_origins"] == ["https://app.example.com", "http://localhost:8080"]
    assert params["CorsOrigins"].split(",") == baked["validator"]["cors_origins"]
    # The bundle's own answers say what the distribution's CORS config says.
    index = ROOT / "dist" / "deploy" / "ci-cors" / "lambda-edge" / "index.mjs"
    preflight = bundle_answer(index, "OPTIONS", {"origin": "https://app.example.com", "access-control-request-method": "GET"})
    refusal = bundle_answer(index, "GET", {"origin": "http://localhost:8080"})
    stranger = bundle_answer(index, "GET", {"origin": "https://evil.example"})
    policy = load_template("oncelink.yaml")["Resources"]["FilesResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    _, cors, _ = policy["CorsConfig"]["Fn::If"]
    joined = lambda items: ", ".join(items).lower()  # noqa: E731
    assert preflight["status"] == "204"
    assert preflight["headers"]["access-control-allow-origin"] == "https://app.example.com"
    assert preflight["headers"]["access-control-allow-methods"].lower() == joined(cors["AccessControlAllowMethods"]["Items"])
    assert preflight["headers"]["access-control-allow-headers"].lower() == joined(cors["AccessControlAllowHeaders"]["Items"])
    assert preflight["headers"]["access-control-max-age"] == str(cors["AccessControlMaxAgeSec"])
    assert refusal["status"] == "403" and refusal["headers"]["access-control-allow-origin"] == "http://localhost:8080"
    assert refusal["headers"]["access-control-expose-headers"].lower() == joined(cors["AccessControlExposeHeaders"]["Items"])
    assert refusal["headers"]["vary"].lower() == "origin"
    assert "access-control-allow-origin" not in stranger["headers"], "an origin not listed is not allowed"


def bundle_answer(index_mjs, method, headers):
    """The generated answer of a built bundle's handler to a viewer request for /example.pdf without a token."""
    cf_headers = {k: [{"key": k, "value": v}] for k, v in headers.items()}
    event = {"Records": [{"cf": {
        "config": {"distributionDomainName": "d1.cloudfront.net", "distributionId": "E1", "eventType": "viewer-request", "requestId": "cors"},
        "request": {"clientIp": "203.0.113.9", "headers": cf_headers, "method": method, "querystring": "", "uri": "/example.pdf"},
    }}]}
    script = (f"import({json.dumps(index_mjs.as_uri())}).then(async (m) => {{ const r = await m.handler({json.dumps(event)});"
              " const h = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, v[0].value]));"
              " process.stdout.write(JSON.stringify({ status: String(r.status), headers: h })); })")
    out = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_bundle_other_than_the_tested_one_is_refused(keys, bundle):
    keys_path, _ = keys
    zip_path, hex_sha, _ = bundle
    ok = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--expect-sha256", hex_sha, "--dry-run")
    assert ok.returncode == 0, ok.stderr
    other = "0" * 64 if hex_sha != "0" * 64 else "1" * 64
    bad = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--expect-sha256", other, "--dry-run")
    assert bad.returncode == 1
    assert "refusing to deploy" in bad.stderr and hex_sha in bad.stderr
    assert not aws_calls(bad.stdout), "a refused bundle must not get as far as printing AWS calls"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keys", "{keys}", "--dry-run"], "--stack NAME is required"),
        (["--stack", "shop", "--dry-run"], "--keys FILE is required"),
        (["--stack", "9lives", "--keys", "{keys}", "--dry-run"], "--stack"),
        (["--stack", "shop", "--keys", "{keys}", "--home-region", "moon", "--dry-run"], "not a region name"),
        (["--stack", "shop", "--keys", "{keys}", "--origin", "custom", "--dry-run"], "--origin-domain"),
        (["--stack", "shop", "--keys", "{keys}", "--domain", "dl.example.com", "--dry-run"], "--certificate-arn"),
        (["--stack", "shop", "--keys", "{keys}", "--extra-regions", "us-east-1", "--dry-run"], "repeats a region"),
        (["--stack", "shop", "--keys", "{keys}", "--frobnicate", "--dry-run"], "unknown argument"),
        (["--stack", "shop", "--keys", "{nokeys}", "--dry-run"], "has no keys"),
        (["--stack", "shop", "--keys", "{missing}", "--dry-run"], "cannot read key file"),
        (["--stack", "shop", "--keys", "{keys}", "--default-mode", "page", "--dry-run"], "needs --page-mode"),
        (["--stack", "shop", "--keys", "{keys}", "--default-mode", "web", "--dry-run"], "direct or page"),
        (["--stack", "shop", "--keys", "{keys}", "--store-budget-ms", "4800", "--dry-run"], "viewer-request limit is 5 s"),
        (["--stack", "shop", "--keys", "{keys}", "--store-attempt-ms", "3000", "--store-budget-ms", "2000", "--dry-run"], "not be more than"),
        (["--stack", "shop", "--keys", "{keys}", "--waf-rate-limit", "9", "--dry-run"], "lowest limit is 10"),
        (["--stack", "shop", "--keys", "{keys}", "--waf-rate-limit-window", "30", "--dry-run"], "60, 120, 300 or 600"),
        (["--stack", "shop", "--keys", "{keys}", "--waf-rate-limit", "500", "--web-acl-arn", "arn:aws:wafv2:us-east-1:1:global/webacl/x/y", "--dry-run"], "exclude each other"),
        (["--stack", "shop", "--keys", "{keys}", "--cors-origin", "https://app.example.com/", "--dry-run"], "is not an origin"),
        (["--stack", "shop", "--keys", "{keys}", "--cors-origin", "*", "--dry-run"], "is not an origin"),
        (["--stack", "shop", "--keys", "{keys}", "--cors-origin", "https://App.example.com", "--dry-run"], "is not an origin"),
        (["--stack", "shop", "--keys", "{keys}", "--cors-origin", "https://a.example", "--cors-origin", "https://a.example", "--dry-run"], "repeats an origin"),
        (["--stack", "shop", "--keys", "{keys}", "--cors-origin", "--dry-run"], "--cors-origin needs a value"),
        (["--stack", "shop", "--keys", "{keys}", "--edge-mode", "prefilter", "--cors-origin", "https://a.example", "--dry-run"], "needs --edge-mode lambda"),
        (["--stack", "shop", "--keys", "{keys}", "--edge-mode", "function-only", "--cors-origin", "https://a.example", "--dry-run"], "needs --edge-mode lambda"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, keys, args, message):
    keys_path, _ = keys
    nokeys = tmp_path / "nokeys.json"
    nokeys.write_text('{"active":"k1","keys":[]}')
    subst = {"{keys}": str(keys_path), "{nokeys}": str(nokeys), "{missing}": str(tmp_path / "absent.json")}
    out = run(*[subst.get(a, a) for a in args])
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deploy: "), out.stderr
    assert message in lines[0]
    assert not aws_calls(out.stdout)


def test_a_real_run_without_the_aws_cli_stops_before_changing_anything(keys, bundle, tmp_path):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(NODE, bin_dir / "node")
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, env=env)
    assert out.returncode == 1
    assert "aws is not on PATH" in out.stderr
    # It got as far as the first call (who am I) and no further.
    assert aws_calls(out.stdout) == ["aws sts get-caller-identity --query Account --output text"]


# ------------------------------------------------------------ real (non-dry-run) path
# Against infra/tests/fake_aws.py on PATH: no AWS account is reachable here. It
# records the calls and checks the upload's sha256 as S3 would.


@pytest.fixture()
def fake_aws(tmp_path):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(f"#!/bin/sh\nexec {shutil.which('python3')} {ROOT / 'infra' / 'tests' / 'fake_aws.py'} \"$@\"\n")
    aws.chmod(0o755)
    log = tmp_path / "aws-calls.jsonl"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_AWS_LOG": str(log)}
    env.pop("FAKE_AWS_FAIL", None)
    env.pop("FAKE_AWS_CODE_SHA256", None)
    env.pop("FAKE_AWS_SSM_TYPE", None)

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return env, calls


def test_a_real_run_makes_the_calls_the_dry_run_shows(keys, bundle, fake_aws):
    keys_path, _ = keys
    zip_path, hex_sha, b64_sha = bundle
    env, calls = fake_aws
    dry = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--extra-regions", "us-west-2", "--dry-run")
    real = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--extra-regions", "us-west-2", "--expect-sha256", hex_sha, env=env)
    assert real.returncode == 0, real.stderr
    made = [["aws", *c] for c in calls()]
    shown = aws_calls(dry.stdout)
    assert len(made) == len(shown) == 10
    bucket = "shop-artifacts-artifactsbucket-1a2b3c"
    arn = "arn:aws:lambda:us-east-1:123456789012:function:shop-viewer-request:7"
    known = {"<artifacts-bucket>": bucket, "<FunctionVersionArn>": arn, "<DistributionId>": "E2EXAMPLE"}
    for did, planned in zip(made, shown):
        # The dry run prints shell-quoted commands: they must split back into the real argv.
        words = [known.get(w, w) for w in shlex.split(planned)]
        words = [w.replace("<artifacts-bucket>", bucket) for w in words]
        assert did == words, (did, words)
    main_deploy = next(c for c in calls() if "oncelink.yaml" in " ".join(c))
    assert f"CodeBucket={bucket}" in main_deploy and f"BundleCodeSha256={b64_sha}" in main_deploy
    assert "oncelink mint --keys keys.json" in real.stdout and "https://d111111abcdef8.cloudfront.net" in real.stdout


def test_a_published_version_with_other_code_is_an_error(keys, bundle, fake_aws):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    env, calls = fake_aws
    env["FAKE_AWS_CODE_SHA256"] = base64.b64encode(b"\0" * 32).decode()
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, env=env)
    assert out.returncode == 1 and "is not the bundle's" in out.stderr
    assert not [c for c in calls() if c[:2] == ["cloudfront", "wait"]], "it must stop before waiting on a wrong version"


def test_a_failed_step_stops_the_deploy_there(keys, bundle, fake_aws):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    env, calls = fake_aws
    env["FAKE_AWS_FAIL"] = "token-table.yaml"
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, env=env)
    assert out.returncode == 1 and 'step "table:us-east-1"' in out.stderr
    assert [c[:2] for c in calls()][-1] == ["cloudformation", "deploy"]
    assert not [c for c in calls() if c[:2] == ["s3api", "put-object"]], "nothing is uploaded after a failed step"


# ------------------------------------------------------------ edge modes
# The function modes build the CloudFront Function and the KeyValueStore import
# file, and deploy a copy of oncelink.yaml with the code inlined.


def rendered_template(stack):
    """dist/deploy/<stack>/oncelink.yaml as CloudFormation would read it (cfn-lint's decoder)."""
    from cfnlint.decode import decode

    path = ROOT / "dist" / "deploy" / stack / "oncelink.yaml"
    template, matches = decode(str(path))
    assert not matches, matches
    return path, template


def built_function(mode):
    """The function build.mjs makes for this mode with the default settings, as the deploy inlines it."""
    script = (
        "import('./edge/cloudfront-function/build.mjs').then((m) => "
        f"process.stdout.write(m.buildFunction({{ mode: {json.dumps(mode)}, config: {{ origin: 's3' }} }}).code))"
    )
    out = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize(("mode", "build_mode"), [("function-only", "only"), ("prefilter", "prefilter")])
def test_dry_run_in_a_function_mode_builds_the_function_and_the_key_store(keys, mode, build_mode):
    keys_path, key_secret = keys
    require_wasm()
    stack = f"ci-{mode}"
    out = run("--stack", stack, "--keys", keys_path, "--edge-mode", mode, "--dry-run")
    assert out.returncode == 0, out.stderr
    calls = aws_calls(out.stdout)
    verbs = [" ".join(c.split()[1:3]) for c in calls]
    lambda_side = mode == "prefilter"
    assert verbs == [
        "sts get-caller-identity",
        "cloudformation deploy",      # artifacts bucket
        "cloudformation describe-stacks",
        *(["cloudformation deploy"] if lambda_side else []),   # token table
        "s3api put-object",           # KeyValueStore import file
        *(["s3api put-object"] if lambda_side else []),        # bundle
        "cloudformation deploy",      # main stack, rendered template
        "cloudformation describe-stacks",
        *(["lambda get-function-configuration"] if lambda_side else []),
        "cloudfront wait",
    ]
    assert ("token-table.yaml" in out.stdout) is lambda_side, "function-only needs no token table"

    # The import file: the key file's keys by kid, private, uploaded where the template imports it from.
    import_path = ROOT / "dist" / "deploy" / stack / "kvs-import.json"
    data = json.loads(import_path.read_text())
    assert data == {"data": [{"key": "k1", "value": key_secret}]}
    assert import_path.stat().st_mode & 0o077 == 0, "the import file holds the keys: owner-only"
    digest = hashlib.sha256(import_path.read_bytes()).digest()
    version = digest.hex()[:16]
    (upload,) = [c for c in calls if "cloudfront-kvs/" in c]
    assert f"--key cloudfront-kvs/{version}.json" in upload and f"--body dist/deploy/{stack}/kvs-import.json" in upload
    assert f"--checksum-sha256 {base64.b64encode(digest).decode()}" in upload and "--server-side-encryption aws:kms" in upload
    assert "'<artifacts-bucket>'" in upload, "the import file goes to the private artifacts bucket"

    params = main_parameters(out.stdout)
    assert params["EdgeMode"] == mode and params["KeyStoreVersion"] == version
    assert bool(params["BundleCodeSha256"]) is lambda_side and bool(params["CodeKey"]) is lambda_side
    template_params = load_template("oncelink.yaml")["Parameters"]
    for name, value in params.items():
        pattern = template_params[name].get("AllowedPattern")
        if pattern and not value.startswith("<"):
            assert re.fullmatch(pattern, value), f"{name}={value!r} fails the template's AllowedPattern"

    # The main stack deploys the rendered template, which holds exactly this mode's build.
    (main,) = [c for c in calls if c.startswith("aws cloudformation deploy") and f"--stack-name {stack} " in c]
    assert f"--template-file dist/deploy/{stack}/oncelink.yaml" in main
    path, template = rendered_template(stack)
    assert path.stat().st_size <= 51200, "cloudformation deploy needs an S3 bucket for a bigger template"
    code, variables = template["Resources"]["ViewerFunction"]["Properties"]["FunctionCode"]["Fn::Sub"]
    assert code == built_function(build_mode)
    assert variables == {"OncelinkKvsId": {"Fn::GetAtt": ["FunctionKeyStore", "Id"]}}
    # Apart from the code, the rendered template is the checked-in one.
    original = load_template("oncelink.yaml")
    template["Resources"]["ViewerFunction"]["Properties"]["FunctionCode"] = original["Resources"]["ViewerFunction"]["Properties"]["FunctionCode"]
    assert template == original
    assert key_secret not in out.stdout + out.stderr, "the dry run printed a signing key"
    assert key_secret not in path.read_text(), "a key reached the template"


def test_the_rendered_templates_pass_cfn_lint(keys):
    keys_path, _ = keys
    require_wasm()
    paths = []
    for mode in ("function-only", "prefilter"):
        out = run("--stack", f"ci-lint-{mode}", "--keys", keys_path, "--edge-mode", mode, "--dry-run")
        assert out.returncode == 0, out.stderr
        paths.append(ROOT / "dist" / "deploy" / f"ci-lint-{mode}" / "oncelink.yaml")
    # cfn-lint of the venv running these tests (infra/tests/requirements.txt).
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    lint = subprocess.run([str(cfn_lint), *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_real_function_only_run_makes_the_calls_the_dry_run_shows(keys, fake_aws):
    keys_path, _ = keys
    env, calls = fake_aws
    dry = run("--stack", "fo", "--keys", keys_path, "--edge-mode", "function-only", "--dry-run")
    real = run("--stack", "fo", "--keys", keys_path, "--edge-mode", "function-only", env=env)
    assert real.returncode == 0, real.stderr
    made = [["aws", *c] for c in calls()]
    shown = aws_calls(dry.stdout)
    assert len(made) == len(shown) == 7
    bucket = "fo-artifacts-artifactsbucket-1a2b3c"
    for did, planned in zip(made, shown):
        words = [w.replace("<artifacts-bucket>", bucket).replace("<DistributionId>", "E2EXAMPLE") for w in shlex.split(planned)]
        assert did == words, (did, words)
    assert not [c for c in calls() if c[:1] == ["lambda"]], "function-only has no Lambda to check"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--edge-mode", "edge"], "--edge-mode must be one of"),
        (["--edge-mode", "function-only", "--page-mode"], "--page-mode needs --edge-mode lambda"),
        (["--edge-mode", "prefilter", "--page-mode"], "--page-mode needs --edge-mode lambda"),
        (["--edge-mode", "function-only", "--origin", "custom", "--origin-domain", "files.example.com", "--grant-keys", "{grant}"],
         "cannot issue the origin grant"),
        (["--edge-mode", "function-only", "--expect-sha256", "0" * 64], "deploys no Lambda@Edge bundle"),
    ],
)
def test_bad_edge_mode_input_is_one_clear_line(tmp_path, keys, args, message):
    keys_path, _ = keys
    grant_file, _ = key_file(tmp_path / "grant.json", kid="g1")
    out = run("--stack", "shop", "--keys", keys_path, *[str(grant_file) if a == "{grant}" else a for a in args], "--dry-run")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deploy: "), out.stderr
    assert message in lines[0]
    assert not aws_calls(out.stdout)


# ------------------------------------------------------------ link events (--events)
# The events Lambda's zip goes to each home region's own artifacts bucket, the
# token-table stacks get the events parameters, and the bundle writes events.

EVENTS_ARGS = ("--events", "--webhook-url", "https://hooks.example.com/a", "--webhook-url", "https://b.example/x",
               "--webhook-secret-parameter", "/oncelink/webhook-secret")


@pytest.fixture()
def events_zip(tmp_path):
    return random_zip(tmp_path / "events.zip", 2048)


def table_overrides(call):
    words = shlex.split(call)
    return dict(w.split("=", 1) for w in words[words.index("--parameter-overrides") + 1:])


def test_events_go_to_every_home_region_with_its_own_bucket(keys, bundle, events_zip):
    keys_path, key_secret = keys
    zip_path, _, _ = bundle
    ev_path, ev_hex, ev_b64 = events_zip
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--events-bundle", ev_path,
              "--extra-regions", "eu-west-1", "--event-retention-days", "30", *EVENTS_ARGS, "--dry-run")
    assert out.returncode == 0, out.stderr
    calls = aws_calls(out.stdout)
    steps = [" ".join(c.split()[1:3]) + " " + re.search(r"--region (\S+)", c + " --region -").group(1) for c in calls]
    assert steps[:13] == [
        "sts get-caller-identity -",
        "cloudformation deploy us-east-1",            # artifacts bucket
        "cloudformation describe-stacks us-east-1",
        "ssm get-parameter us-east-1",                # the secret exists there
        "s3api put-object us-east-1",                 # events zip
        "cloudformation deploy us-east-1",            # token table + events
        "cloudformation deploy eu-west-1",            # that region's artifacts bucket
        "cloudformation describe-stacks eu-west-1",
        "ssm get-parameter eu-west-1",
        "s3api put-object eu-west-1",
        "cloudformation deploy eu-west-1",            # token table + events
        "s3api put-object us-east-1",                 # the edge bundle
        "cloudformation deploy us-east-1",            # main stack
    ]
    uploads = [c for c in calls if "--key events/" in c]
    assert len(uploads) == 2 and all(f"--key events/{ev_hex}.zip" in c and f"--checksum-sha256 {ev_b64}" in c for c in uploads)
    assert "--bucket '<artifacts-bucket>'" in uploads[0] and "--bucket '<artifacts-bucket-eu-west-1>'" in uploads[1]
    template_params = load_template("token-table.yaml")["Parameters"]
    tables = [c for c in calls if "token-table.yaml" in c]
    assert all("--capabilities CAPABILITY_IAM" in c for c in tables), "the events Lambda's role needs CAPABILITY_IAM"
    for call, bucket in zip(tables, ["<artifacts-bucket>", "<artifacts-bucket-eu-west-1>"]):
        params = table_overrides(call)
        assert set(params) == set(template_params) - {"TableName"} | {"TableName"}, "every parameter is passed"
        assert params["Events"] == "true" and params["EventsCodeBucket"] == bucket
        assert params["EventsCodeKey"] == f"events/{ev_hex}.zip"
        assert params["WebhookUrls"] == "https://hooks.example.com/a https://b.example/x"
        assert params["WebhookSecretParameter"] == "/oncelink/webhook-secret" and params["EventRetentionDays"] == "30"
        for name, value in params.items():
            pattern = template_params[name].get("AllowedPattern")
            if pattern and not value.startswith("<"):
                assert re.fullmatch(pattern, value), f"{name}={value!r} fails the template's AllowedPattern"
    shown = json.loads(re.search(r"# bundle config \(secrets not shown\): (\{.*\})", out.stdout).group(1))
    assert shown["store"]["events"] is True, "the bundle must write the events the stream carries"
    assert key_secret not in out.stdout + out.stderr


def test_without_events_the_table_stacks_turn_them_off(keys, bundle):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--dry-run")
    assert out.returncode == 0, out.stderr
    (table,) = [c for c in aws_calls(out.stdout) if "token-table.yaml" in c]
    params = table_overrides(table)
    assert (params["Events"], params["EventsCodeBucket"], params["WebhookUrls"]) == ("false", "", "")
    assert not [c for c in aws_calls(out.stdout) if "ssm" in c or "events/" in c]
    shown = json.loads(re.search(r"# bundle config \(secrets not shown\): (\{.*\})", out.stdout).group(1))
    assert "events" not in shown["store"]


def test_a_real_events_run_makes_the_calls_the_dry_run_shows(keys, bundle, events_zip, fake_aws):
    keys_path, _ = keys
    zip_path, hex_sha, _ = bundle
    ev_path, _, _ = events_zip
    env, calls = fake_aws
    args = ("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--events-bundle", ev_path,
            "--extra-regions", "eu-west-1", *EVENTS_ARGS)
    dry = run(*args, "--dry-run")
    real = run(*args, "--expect-sha256", hex_sha, env=env)
    assert real.returncode == 0, real.stderr
    made = [["aws", *c] for c in calls()]
    shown = aws_calls(dry.stdout)
    assert len(made) == len(shown) == 16
    known = {
        "<artifacts-bucket>": "shop-artifacts-artifactsbucket-1a2b3c",
        "<artifacts-bucket-eu-west-1>": "shop-artifacts-artifactsbucket-eu-west-1",
        "<FunctionVersionArn>": "arn:aws:lambda:us-east-1:123456789012:function:shop-viewer-request:7",
        "<DistributionId>": "E2EXAMPLE",
    }
    for did, planned in zip(made, shown):
        words = []
        for w in shlex.split(planned):
            for k, v in known.items():
                w = w.replace(k, v)
            words.append(w)
        assert did == words, (did, words)
    eu_table = next(c for c in calls() if "token-table.yaml" in " ".join(c) and "eu-west-1" in c)
    assert "EventsCodeBucket=shop-artifacts-artifactsbucket-eu-west-1" in eu_table, "the region's own bucket, as the stack reported it"


def test_a_webhook_secret_that_is_not_a_securestring_stops_the_deploy(keys, bundle, events_zip, fake_aws):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    ev_path, _, _ = events_zip
    env, calls = fake_aws
    env["FAKE_AWS_SSM_TYPE"] = "String"
    out = run("--stack", "shop", "--keys", keys_path, "--bundle", zip_path, "--events-bundle", ev_path, *EVENTS_ARGS, env=env)
    assert out.returncode == 1
    assert out.stderr.strip() == ("deploy: /oncelink/webhook-secret in us-east-1 is a String, not a SecureString: "
                                  'see docs/events.md, "Turning it on"')
    assert not [c for c in calls() if "token-table.yaml" in " ".join(c)], "no table stack with a plain-text secret"


def test_the_real_events_build_is_what_the_deploy_uploads(keys, bundle):
    keys_path, _ = keys
    zip_path, _, _ = bundle
    out = run("--stack", "evbuild", "--keys", keys_path, "--bundle", zip_path, "--events", "--dry-run", timeout=600)
    assert out.returncode == 0, out.stderr
    built = ROOT / "dist" / "deploy" / "evbuild" / "events.zip"
    digest = hashlib.sha256(built.read_bytes()).hexdigest()
    assert f"sha256 {digest}" in out.stdout and f"--key events/{digest}.zip" in out.stdout
    (table,) = [c for c in aws_calls(out.stdout) if "token-table.yaml" in c]
    params = table_overrides(table)
    assert params["Events"] == "true" and params["WebhookUrls"] == "" and params["WebhookSecretParameter"] == ""
    assert "no webhooks (the audit trail only)" in out.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["--webhook-url", "https://h.example/x", "--webhook-secret-parameter", "/s"], "--webhook-url needs --events"),
        (["--event-retention-days", "30"], "--event-retention-days needs --events"),
        (["--events-bundle", "e.zip"], "--events-bundle needs --events"),
        (["--events", "--edge-mode", "function-only"], "function-only links are never used up"),
        (["--events", "--webhook-url", "ftp://h.example/x", "--webhook-secret-parameter", "/s"], "is not an http(s) URL"),
        (["--events", "--webhook-url", "https://h.example/a b", "--webhook-secret-parameter", "/s"], "is not an http(s) URL"),
        (["--events", "--webhook-url", "https://h.example/x", "--webhook-url", "https://h.example/x", "--webhook-secret-parameter", "/s"], "repeats a URL"),
        (["--events", "--webhook-url", "https://h.example/x"], "needs --webhook-secret-parameter"),
        (["--events", "--webhook-secret-parameter", "/s"], "needs --webhook-url"),
        (["--events", "--webhook-url", "https://h.example/x", "--webhook-secret-parameter", "oncelink/s"], "is not an SSM parameter name"),
        (["--events", "--event-retention-days", "0"], "from 1 to 3650"),
        (["--events", "--event-retention-days", "3651"], "from 1 to 3650"),
        (["--events", "--events-bundle", "{missing}"], "does not exist"),
    ],
)
def test_bad_events_input_is_one_clear_line(tmp_path, keys, args, message):
    keys_path, _ = keys
    subst = {"{missing}": str(tmp_path / "absent.zip")}
    out = run("--stack", "shop", "--keys", keys_path, "--dry-run", *[subst.get(a, a) for a in args])
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deploy: "), out.stderr
    assert message in lines[0]
    assert not aws_calls(out.stdout)
