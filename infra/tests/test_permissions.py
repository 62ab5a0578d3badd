"""The deploy role's permission list is generated from the deploy plan
(scripts/deploy/permissions.mjs), and docs/deploy.md shows exactly that list.

Every AWS CLI call the plan makes, in every edge mode, must have its actions;
every resource type in the templates those calls deploy must have the actions
CloudFormation calls with the deployer's credentials.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from conftest import ROOT, load_template

NODE = shutil.which("node")
PERMISSIONS = ROOT / "scripts" / "deploy" / "permissions.mjs"


def node(script: str) -> str:
    assert NODE, "node is not on PATH"
    done = subprocess.run([NODE, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def generated() -> list[str]:
    return json.loads(node(
        "import { deployActions, checkedInTemplates } from './scripts/deploy/permissions.mjs';"
        "console.log(JSON.stringify(deployActions(checkedInTemplates())));"
    ))


def test_every_call_the_plan_makes_in_every_mode_has_its_actions():
    out = json.loads(node(
        "import { coveredDeployments, stepActions, commandOf } from './scripts/deploy/permissions.mjs';"
        "import { deploySteps, EDGE_MODES } from './scripts/deploy/plan.mjs';"
        "const v = { codeBucket: 'b', keyStoreVersion: '0123456789abcdef', sha256Hex: 'h', sha256Base64: 'b', kvsSha256Base64: 'k', functionVersionArn: 'a', distributionId: 'd' };"
        "const f = { mainTemplate: 'main', tableTemplate: 'table', artifactsTemplate: 'artifacts', zip: 'z', kvsImport: 'k' };"
        "const seen = {}; const modes = new Set();"
        "for (const o of coveredDeployments()) { modes.add(o.edgeMode); for (const s of deploySteps(o, v, f)) seen[commandOf(s)] = stepActions(s); }"
        "console.log(JSON.stringify({ seen, modes: [...modes], all: EDGE_MODES }));"
    ))
    assert sorted(out["modes"]) == sorted(out["all"]), "a mode is not covered"
    actions = set(generated())
    for command, needs in out["seen"].items():
        assert set(needs) <= actions, f"aws {command} needs {set(needs) - actions}"
    assert {"s3api put-object", "cloudformation deploy", "lambda get-function-configuration"} <= set(out["seen"])


def test_every_resource_type_the_templates_hold_has_its_actions():
    types = {r["Type"] for name in ("oncelink.yaml", "token-table.yaml", "artifacts.yaml") for r in load_template(name)["Resources"].values()}
    known = set(json.loads(node(
        "import { RESOURCE_ACTIONS } from './scripts/deploy/permissions.mjs'; console.log(JSON.stringify(Object.keys(RESOURCE_ACTIONS)));"
    )))
    assert types <= known, f"resource types without actions: {types - known}"
    # The generator finds the same types in the text as the YAML parser does.
    parsed = set(json.loads(node(
        "import { resourceTypes, checkedInTemplates } from './scripts/deploy/permissions.mjs';"
        "console.log(JSON.stringify(Object.values(checkedInTemplates()).flatMap(resourceTypes)));"
    )))
    assert parsed == types


def test_the_list_has_what_a_first_deploy_needs_beyond_the_templates():
    actions = set(generated())
    # First Lambda@Edge association in an account (CloudFront Developer Guide,
    # "Set up IAM permissions and roles for Lambda@Edge").
    assert {"iam:CreateServiceLinkedRole", "lambda:EnableReplication*", "lambda:DisableReplication*", "lambda:GetFunction"} <= actions
    # Stack tags go onto every resource.
    assert {"lambda:TagResource", "iam:TagRole", "cloudfront:TagResource", "dynamodb:TagResource", "s3:PutBucketTagging"} <= actions
    # The function modes.
    assert {"cloudfront:CreateFunction", "cloudfront:PublishFunction", "cloudfront:CreateKeyValueStore"} <= actions
    # The KMS-encrypted artifacts: uploads, the Lambda code and the key store import.
    assert {"kms:GenerateDataKey", "kms:Decrypt", "s3:GetObject", "s3:GetBucketLocation"} <= actions


def test_docs_deploy_md_shows_exactly_the_generated_list():
    text = (ROOT / "docs" / "deploy.md").read_text()
    m = re.search(r"<!-- permissions:begin[^>]*-->\n(.*?)\n<!-- permissions:end -->", text, re.S)
    assert m, "docs/deploy.md has no generated permission list"
    expected = subprocess.run([NODE, str(PERMISSIONS)], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout.strip()
    assert m.group(1).strip() == expected, "docs/deploy.md is out of date: paste `node scripts/deploy/permissions.mjs`"


def test_the_policy_document_allows_exactly_the_list():
    done = subprocess.run([NODE, str(PERMISSIONS), "--policy"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    policy = json.loads(done.stdout)
    assert policy["Statement"][0]["Action"] == generated()
