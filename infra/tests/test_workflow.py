"""infra/ci/deploy.yml: OIDC only where it deploys, and only the tested bundle is deployed."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT

WORKFLOW = ROOT / "infra" / "ci" / "deploy.yml"


@pytest.fixture(scope="module")
def workflow():
    data = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps_running(job, pattern):
    return [s for s in job["steps"] if re.search(pattern, s.get("run", ""))]


def test_no_job_gets_credentials_it_does_not_need(workflow):
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["test"]["permissions"] == {"contents": "read"}
    assert jobs["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["deploy"]["environment"] == "production"
    for job in jobs.values():
        for s in job["steps"]:
            if s.get("uses", "").startswith("actions/checkout@"):
                assert s["with"]["persist-credentials"] is False


def test_aws_credentials_come_from_oidc_not_keys(workflow):
    text = WORKFLOW.read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    (creds,) = [s for s in workflow["jobs"]["deploy"]["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert "role-to-assume" in creds["with"] and creds["with"]["aws-region"] == "us-east-1"


def test_the_deploy_is_gated_on_the_tested_sha256(workflow):
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert test["outputs"]["sha256"] == "${{ steps.smoke.outputs.sha256 }}"
    (smoke,) = [s for s in test["steps"] if s.get("id") == "smoke"]
    assert "infra/ci/smoke-bundle.mjs" in smoke["run"] and "GITHUB_OUTPUT" in smoke["run"]
    # The smoke test runs against the bundle the dry run built for this stack.
    (build,) = steps_running(test, r"npm run deploy .*--dry-run")
    assert 'dist/deploy/$STACK/lambda-edge.zip' in smoke["run"] and '--stack "$STACK"' in build["run"]
    # Tests run before the bundle hash is recorded.
    order = [s.get("name", s.get("uses")) for s in test["steps"]]
    assert order.index("Test suite") < order.index(smoke["name"])
    (deploy_step,) = steps_running(deploy, r"npm run deploy ")
    assert "--dry-run" not in deploy_step["run"]
    assert '--expect-sha256 "$TESTED_SHA256"' in deploy_step["run"]
    assert deploy_step["env"]["TESTED_SHA256"] == "${{ needs.test.outputs.sha256 }}"
    assert 'test -n "$TESTED_SHA256"' in deploy_step["run"], "an empty hash must not skip the check"


def test_the_key_file_is_private_and_removed(workflow):
    for job in workflow["jobs"].values():
        writes = steps_running(job, r"ONCELINK_KEYS")
        assert len(writes) == 1 and "umask 077" in writes[0]["run"]
        assert writes[0]["env"]["ONCELINK_KEYS"] == "${{ secrets.ONCELINK_KEYS }}"
        removes = [s for s in job["steps"] if s.get("if") == "always()" and "rm -f" in s.get("run", "")]
        assert removes, "the key file is not removed when a step fails"
    assert not [j for j in workflow["jobs"].values() for s in j["steps"] if "upload-artifact" in s.get("uses", "")], \
        "the bundle holds the signing keys: never upload it as an artifact"
