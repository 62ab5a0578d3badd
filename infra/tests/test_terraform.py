"""The Terraform module parses and says the same as the CloudFormation templates.

No provider can be downloaded here, so `terraform validate` cannot run; instead
every .tf file is parsed with python-hcl2, the module's resource set is compared
with the templates' (CloudFormation bundles what Terraform splits, e.g. bucket
settings, inline role policies), and the settings that matter are checked on
the Terraform side too.
"""

from __future__ import annotations

import re

import pytest
from conftest import TF_DIR, load_template, load_tf_dir, tf_resources

# CloudFormation type -> the Terraform resource types that express it.
CFN_TO_TF = {
    "AWS::S3::Bucket": {
        "aws_s3_bucket", "aws_s3_bucket_public_access_block", "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning",
        "aws_s3_bucket_lifecycle_configuration",
    },
    "AWS::S3::BucketPolicy": {"aws_s3_bucket_policy"},
    "AWS::CloudFront::OriginAccessControl": {"aws_cloudfront_origin_access_control"},
    "AWS::CloudFront::Distribution": {"aws_cloudfront_distribution"},
    "AWS::CloudFront::CachePolicy": {"aws_cloudfront_cache_policy"},
    "AWS::CloudFront::OriginRequestPolicy": {"aws_cloudfront_origin_request_policy"},
    "AWS::CloudFront::ResponseHeadersPolicy": {"aws_cloudfront_response_headers_policy"},
    "AWS::IAM::Role": {"aws_iam_role", "aws_iam_role_policy"},
    "AWS::IAM::RolePolicy": {"aws_iam_role_policy"},
    "AWS::Logs::LogGroup": {"aws_cloudwatch_log_group"},
    # terraform_data gives the function a new name each time it is created.
    "AWS::Lambda::Function": {"aws_lambda_function", "terraform_data"},
    # Terraform publishes the version from the function itself (publish = true).
    "AWS::Lambda::Version": {"aws_lambda_function"},
    "AWS::DynamoDB::Table": {"aws_dynamodb_table"},
    # CloudFormation imports the keys into the store; Terraform writes each key.
    "AWS::CloudFront::KeyValueStore": {"aws_cloudfront_key_value_store", "aws_cloudfrontkeyvaluestore_key"},
    "AWS::CloudFront::Function": {"aws_cloudfront_function"},
    "AWS::WAFv2::WebACL": {"aws_wafv2_web_acl"},
    "AWS::SQS::Queue": {"aws_sqs_queue"},
    "AWS::Lambda::EventSourceMapping": {"aws_lambda_event_source_mapping"},
}
# artifacts.yaml has no Terraform counterpart: Terraform uploads the zip directly.
TEMPLATES = ("oncelink.yaml", "token-table.yaml")


@pytest.fixture(scope="module")
def root_module():
    return load_tf_dir(TF_DIR)


@pytest.fixture(scope="module")
def table_module():
    return load_tf_dir(TF_DIR / "modules" / "token-table")


@pytest.fixture(scope="module")
def resources(root_module, table_module):
    return {**tf_resources(root_module), **tf_resources(table_module)}


def one(resources, rtype):
    # The events Lambda's resources (token-table module, var.events) have tests of their own.
    found = [body for (t, name), body in resources.items() if t == rtype and not name.startswith("events")]
    assert len(found) == 1, f"expected one {rtype}, found {len(found)}"
    return found[0]


def test_every_terraform_file_parses():
    for d in [TF_DIR, TF_DIR / "modules" / "token-table", TF_DIR / "examples" / "basic", TF_DIR / "examples" / "function-only"]:
        assert load_tf_dir(d)


def test_the_module_has_the_templates_resources_and_no_others(resources):
    cfn_types = {r["Type"] for name in TEMPLATES for r in load_template(name)["Resources"].values()}
    unmapped = cfn_types - CFN_TO_TF.keys()
    assert not unmapped, f"template resource types without a Terraform mapping: {unmapped}"
    expected = set().union(*(CFN_TO_TF[t] for t in cfn_types))
    actual = {t for t, _ in resources}
    assert actual == expected, f"missing in Terraform: {expected - actual}; only in Terraform: {actual - expected}"


def test_the_module_publishes_a_version_on_viewer_request(resources):
    fn = one(resources, "aws_lambda_function")
    # The Lambda side exists unless edge_mode = function-only (as the template's UsesLambda).
    assert fn["count"] == "${local.lambda ? 1 : 0}"
    for rtype in ("aws_iam_role", "aws_cloudwatch_log_group"):
        assert one(resources, rtype)["count"] == "${local.lambda ? 1 : 0}", rtype
    assert fn["publish"] is True and fn["skip_destroy"] is True
    assert fn["runtime"].startswith("nodejs") and fn["handler"] == "index.handler"
    assert fn["memory_size"] <= 128 and fn["timeout"] <= 5
    assert "environment" not in fn and "vpc_config" not in fn
    conditions = [p["condition"] for p in fn["lifecycle"][0]["precondition"]]
    assert any("filesha256(var.bundle_zip) == var.bundle_sha256" in c for c in conditions), "no tested-sha256 gate"
    assert any('"us-east-1"' in c for c in conditions)
    dist = one(resources, "aws_cloudfront_distribution")
    behavior = dist["default_cache_behavior"][0]
    dynamics = {name: body for d in behavior["dynamic"] for name, body in d.items()}
    lam = dynamics["lambda_function_association"]
    assert lam["for_each"] == "${local.lambda ? [1] : []}"
    (assoc,) = lam["content"]
    assert assoc["event_type"] == '${local.prefilter ? "origin-request" : "viewer-request"}'
    assert assoc["lambda_arn"] == "${aws_lambda_function.edge[0].qualified_arn}"
    assert assoc["include_body"] == "${var.enable_page_mode}"
    assert "lambda_function_association" not in behavior, "a static association would run the Lambda in function-only mode"
    assert behavior["viewer_protocol_policy"] == "https-only"
    assert "ordered_cache_behavior" not in dist, "every extra behavior would need the association too"
    assert dist["http_version"] == "http2and3"


def test_the_token_stays_out_of_the_cache_key(resources):
    policy = one(resources, "aws_cloudfront_cache_policy")
    params = policy["parameters_in_cache_key_and_forwarded_to_origin"][0]
    qs = params["query_strings_config"][0]
    assert re.fullmatch(r'\$\{local\.s3 \? "whitelist" : "none"\}', qs["query_string_behavior"])
    items = qs["dynamic"][0]["query_strings"]["content"][0]["items"]
    assert items == ["response-content-disposition"]
    assert params["cookies_config"][0]["cookie_behavior"] == "none"
    # The prefilter policy (caching disabled, query for the origin-request consume) is checked below.
    orp = resources[("aws_cloudfront_origin_request_policy", "files")]
    assert orp["query_strings_config"][0]["query_string_behavior"] == "none"
    headers = orp["headers_config"][0]
    assert headers["header_behavior"] == '${local.s3 ? "none" : "whitelist"}'
    assert headers["dynamic"][0]["headers"]["content"][0]["items"] == ["x-oncelink-grant"]
    dist = one(resources, "aws_cloudfront_distribution")
    for origin in (d["origin"] for d in dist["dynamic"] if "origin" in d):
        assert "custom_header" not in origin["content"][0], "it would overwrite the edge's grant"


def test_a_kept_function_never_blocks_the_next_apply_or_a_mode_switch_back(root_module, resources):
    # skip_destroy keeps the function (its replicas outlive the distribution
    # by hours); its name must change whenever Terraform creates it again.
    fn = one(resources, "aws_lambda_function")
    assert fn["skip_destroy"] is True
    assert fn["function_name"] == "${local.function_name}"
    locals_ = {k: v for block in root_module["locals"] for k, v in block.items()}
    assert "terraform_data.edge_name[0].id" in locals_["function_name"], "a fixed name collides with the kept function"
    assert one(resources, "terraform_data")["count"] == "${local.lambda ? 1 : 0}"
    outputs = {name: body for block in root_module["output"] for name, body in block.items()}
    assert "function_name" in outputs


def test_errors_are_never_cached_and_downloads_never_recompressed(resources):
    dist = one(resources, "aws_cloudfront_distribution")
    template = load_template("oncelink.yaml")
    cfn = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["CustomErrorResponses"]
    (errors,) = [d["custom_error_response"] for d in dist["dynamic"] if "custom_error_response" in d]
    assert errors["for_each"] == [e["ErrorCode"] for e in cfn]
    assert errors["content"][0]["error_caching_min_ttl"] == 0 and all(e["ErrorCachingMinTTL"] == 0 for e in cfn)
    assert dist["default_cache_behavior"][0]["compress"] is False
    params = one(resources, "aws_cloudfront_cache_policy")["parameters_in_cache_key_and_forwarded_to_origin"][0]
    assert params["enable_accept_encoding_gzip"] is False and params["enable_accept_encoding_brotli"] is False


def test_key_rotation_keeps_one_store(resources):
    # Keys are written and deleted through the KeyValueStore data API on one
    # store, so a function still running on an edge keeps finding its store.
    store = one(resources, "aws_cloudfront_key_value_store")
    assert store["name"] == "${var.name}-keys"
    assert "aws_cloudfront_key_value_store.keys[0].arn" in one(resources, "aws_cloudfrontkeyvaluestore_key")["key_value_store_arn"]


def test_the_table_matches_the_template(table_module):
    (table,) = [b for (t, name), b in tf_resources(table_module).items() if t == "aws_dynamodb_table" and name == "tokens"]
    assert table["hash_key"] == "id" and table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["attribute"] == [{"name": "id", "type": "S"}]
    assert table["ttl"] == [{"attribute_name": "expire_at", "enabled": True}]
    cfn = load_template("token-table.yaml")["Resources"]["TokenTable"]["Properties"]["TimeToLiveSpecification"]
    assert table["ttl"][0]["attribute_name"] == cfn["AttributeName"]
    assert table["point_in_time_recovery"] == [{"enabled": True}]
    assert table["deletion_protection_enabled"] == "${var.deletion_protection}"
    assert "replica" not in table
    assert table["stream_enabled"] == "${var.events}", "a stream only with events"


def test_the_role_grants_what_the_template_grants(root_module, resources):
    role = one(resources, "aws_iam_role")
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.assume.json}"
    docs = {name: body for block in root_module["data"] for t, named in block.items() if t == "aws_iam_policy_document" for name, body in named.items()}
    principals = docs["assume"]["statement"][0]["principals"][0]["identifiers"]
    assert sorted(principals) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    consume = docs["consume"]["statement"][0]
    assert sorted(consume["actions"]) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert consume["resources"] == ["arn:${local.partition}:dynamodb:*:${local.account}:table/${local.table_name}"]
    assert consume["condition"][0]["variable"] == "aws:RequestedRegion"
    logs = docs["logs"]["statement"][0]
    assert all("/aws/lambda/" in r for r in logs["resources"])


def test_the_bucket_is_private(resources):
    block = one(resources, "aws_s3_bucket_public_access_block")
    for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[k] is True, k
    assert "acl" not in one(resources, "aws_s3_bucket")
    oac = one(resources, "aws_cloudfront_origin_access_control")
    assert oac["signing_behavior"] == "always"


def test_variables_and_outputs_mirror_the_template(root_module):
    variables = {name for block in root_module["variable"] for name in block}
    for block in root_module["variable"]:
        for name, body in block.items():
            assert body.get("description"), f"variable {name} has no description"
    params = set(load_template("oncelink.yaml")["Parameters"])
    mapping = {
        "CodeBucket": "bundle_zip", "CodeKey": "bundle_zip", "BundleCodeSha256": "bundle_sha256",
        "TableName": "table_name", "HomeRegion": None,  # the aws.home provider's region
        "AdditionalHomeRegions": "additional_home_regions", "OriginType": "origin_type",
        "CustomOriginDomainName": "custom_origin_domain_name",
        "DomainName": "domain_name", "CertificateArn": "certificate_arn", "EnablePageMode": "enable_page_mode",
        "PriceClass": "price_class", "WebAclArn": "web_acl_arn", "LogRetentionDays": "log_retention_days",
        "EdgeMode": "edge_mode", "KeyStoreVersion": "kvs_import_file",
        "WafRateLimit": "waf_rate_limit", "WafRateLimitWindowSec": "waf_rate_limit_window_sec",
        "CorsOrigins": "cors_origins",
    }
    assert params == set(mapping), f"template parameters changed: {params ^ set(mapping)}"
    for param, var in mapping.items():
        assert var is None or var in variables, f"{param} has no Terraform variable {var}"
    outputs = {name for block in root_module["output"] for name in block}
    assert {"distribution_domain_name", "table_name", "mint_command", "function_version_arn"} <= outputs


def test_the_function_modes_mirror_the_template(root_module, resources):
    locals_ = {k: v for block in root_module["locals"] for k, v in block.items()}
    assert locals_["lambda"] == '${var.edge_mode != "function-only"}'
    assert locals_["function"] == '${var.edge_mode != "lambda"}'
    assert locals_["prefilter"] == '${var.edge_mode == "prefilter"}'
    variables = {name: body for block in root_module["variable"] for name, body in block.items()}
    assert variables["edge_mode"]["default"] == "lambda"
    template = load_template("oncelink.yaml")
    assert template["Parameters"]["EdgeMode"]["AllowedValues"] == ["lambda", "function-only", "prefilter"]
    for mode in template["Parameters"]["EdgeMode"]["AllowedValues"]:
        assert f'"{mode}"' in variables["edge_mode"]["validation"][0]["condition"]

    fn = one(resources, "aws_cloudfront_function")
    assert fn["runtime"] == "cloudfront-js-2.0" and fn["publish"] is True
    assert fn["count"] == "${local.function ? 1 : 0}"
    assert fn["key_value_store_associations"] == ["${aws_cloudfront_key_value_store.keys[0].arn}"]
    # The build's placeholder ($${ is HCL's escape for a literal ${) becomes the store id.
    assert "$${OncelinkKvsId}" in fn["code"] and "aws_cloudfront_key_value_store.keys[0].id" in fn["code"]
    key = one(resources, "aws_cloudfrontkeyvaluestore_key")
    assert key["for_each"] == "${local.kvs_entries}"
    assert "var.kvs_import_file" in locals_["kvs_entries"]

    dist = one(resources, "aws_cloudfront_distribution")
    behavior = dist["default_cache_behavior"][0]
    assert behavior["cache_policy_id"] == "${local.prefilter ? local.caching_disabled : aws_cloudfront_cache_policy.files.id}"
    assert locals_["caching_disabled"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert "prefilter[0]" in behavior["origin_request_policy_id"]
    dynamics = {name: body for d in behavior["dynamic"] for name, body in d.items()}
    fa = dynamics["function_association"]
    assert fa["for_each"] == "${local.function ? [1] : []}"
    assert fa["content"][0] == {"event_type": "viewer-request", "function_arn": "${aws_cloudfront_function.viewer[0].arn}"}

    prefilter = resources[("aws_cloudfront_origin_request_policy", "prefilter")]
    assert prefilter["query_strings_config"][0]["query_string_behavior"] == "all"
    assert prefilter["cookies_config"][0]["cookie_behavior"] == "none"
    headers = prefilter["headers_config"][0]["headers"][0]["items"]
    cfn = template["Resources"]["PrefilterOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]["Headers"]
    assert headers == cfn, "the prefilter policy forwards other headers than the template's"
    conditions = " ".join(p["condition"] for p in dist["lifecycle"][0]["precondition"])
    assert "var.enable_page_mode" in conditions and "function-only" in conditions


def test_the_rate_limit_web_acl_mirrors_the_template(root_module, resources):
    variables = {name: body for block in root_module["variable"] for name, body in block.items()}
    assert variables["waf_rate_limit"]["default"] == 0, "off by default"
    assert variables["waf_rate_limit_window_sec"]["default"] == 300
    for window in (60, 120, 300, 600):
        assert str(window) in variables["waf_rate_limit_window_sec"]["validation"][0]["condition"]
    acl = one(resources, "aws_wafv2_web_acl")
    assert acl["count"] == "${var.waf_rate_limit > 0 ? 1 : 0}"
    assert acl["scope"] == "CLOUDFRONT"
    assert acl["default_action"] == [{"allow": [{}]}]
    (rule,) = acl["rule"]
    statement = rule["statement"][0]["rate_based_statement"][0]
    assert statement["aggregate_key_type"] == "IP"
    assert statement["limit"] == "${var.waf_rate_limit}"
    assert statement["evaluation_window_sec"] == "${var.waf_rate_limit_window_sec}"
    response = rule["action"][0]["block"][0]["custom_response"][0]
    assert response["response_code"] == 429
    assert response["response_header"][0]["name"] == "retry-after"
    conditions = " ".join(p["condition"] for p in acl["lifecycle"][0]["precondition"])
    assert 'var.web_acl_arn == ""' in conditions, "your own web ACL and the rate-limit one exclude each other"
    dist = one(resources, "aws_cloudfront_distribution")
    assert "aws_wafv2_web_acl.rate_limit[0].arn" in dist["web_acl_id"] and "var.web_acl_arn" in dist["web_acl_id"]


def test_cors_mirrors_the_template(root_module, resources):
    variables = {name: body for block in root_module["variable"] for name, body in block.items()}
    assert variables["cors_origins"]["default"] == [], "off by default"
    locals_ = {k: v for block in root_module["locals"] for k, v in block.items()}
    assert locals_["cors"] == "${length(var.cors_origins) > 0}"
    template = load_template("oncelink.yaml")
    cfn = template["Resources"]["FilesResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    _, cfn_cors, _ = cfn["CorsConfig"]["Fn::If"]
    policy = resources[("aws_cloudfront_response_headers_policy", "files")]
    dynamics = {name: body for d in policy["dynamic"] for name, body in d.items()}
    cors = dynamics["cors_config"]
    assert cors["for_each"] == "${local.cors ? [1] : []}"
    body = cors["content"][0]
    assert body["access_control_allow_origins"][0]["items"] == "${var.cors_origins}"
    for tf_key, cfn_key in (("access_control_allow_methods", "AccessControlAllowMethods"),
                            ("access_control_allow_headers", "AccessControlAllowHeaders"),
                            ("access_control_expose_headers", "AccessControlExposeHeaders")):
        assert body[tf_key][0]["items"] == cfn_cors[cfn_key]["Items"], tf_key
    assert body["access_control_max_age_sec"] == cfn_cors["AccessControlMaxAgeSec"]
    assert body["access_control_allow_credentials"] is cfn_cors["AccessControlAllowCredentials"] is False
    assert body["origin_override"] is cfn_cors["OriginOverride"] is True
    vary = {name: b for d in policy["custom_headers_config"][0]["dynamic"] for name, b in d.items()}["items"]
    assert vary["for_each"] == "${local.cors ? [1] : []}"
    assert vary["content"][0] == {"header": "Vary", "value": "Origin", "override": False}
    conditions = " ".join(p["condition"] for p in policy["lifecycle"][0]["precondition"])
    assert "local.cors" in conditions and 'var.edge_mode == "lambda"' in conditions
    behavior = one(resources, "aws_cloudfront_distribution")["default_cache_behavior"][0]
    assert '(local.cors ? ["GET", "HEAD", "OPTIONS"] : ["GET", "HEAD"])' in behavior["allowed_methods"]
    assert behavior["cached_methods"] == ["GET", "HEAD"]


def test_the_events_resources_exist_only_with_events_and_match_the_template(table_module):
    resources = tf_resources(table_module)
    events = {k: b for k, b in resources.items() if k[1].startswith("events")}
    assert events and all(b["count"] == "${local.events}" for b in events.values())
    variables = {name: body for block in table_module["variable"] for name, body in block.items()}
    assert variables["events"]["default"] is False
    stream = resources[("aws_lambda_event_source_mapping", "events_stream")]
    assert stream["function_response_types"] == ["ReportBatchItemFailures"] and stream["bisect_batch_on_function_error"] is True
    assert "aws_sqs_queue.events_dlq[0].arn" in stream["destination_config"][0]["on_failure"][0]["destination_arn"]
    audit = resources[("aws_dynamodb_table", "events")]
    assert audit["name"] == "${var.table_name}-events" and audit["range_key"] == "seq"
    fn = resources[("aws_lambda_function", "events")]
    cfn = load_template("token-table.yaml")["Resources"]["EventsFunction"]["Properties"]
    assert set(fn["environment"][0]["variables"]) == set(cfn["Environment"]["Variables"])
    assert fn["runtime"] == cfn["Runtime"] and fn["timeout"] == cfn["Timeout"]
    docs = {name: body for block in table_module["data"] for t, named in block.items() if t == "aws_iam_policy_document" for name, body in named.items()}
    actions = set()
    for st in docs["events"]["statement"]:
        actions |= set(st["actions"])
    for dyn in docs["events"].get("dynamic", []):
        actions |= set(dyn["statement"]["content"][0]["actions"])
    template_actions = set()
    for policy in cfn_policies():
        for st in policy["PolicyDocument"]["Statement"]:
            template_actions |= set(st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    assert actions == template_actions


def cfn_policies():
    policies = load_template("token-table.yaml")["Resources"]["EventsRole"]["Properties"]["Policies"]
    out = []
    for p in policies:
        if set(p) == {"Fn::If"}:
            out.append(p["Fn::If"][1])
        else:
            out.append(p)
    return out
