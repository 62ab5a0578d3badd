"""The wiring of infra/cloudformation that security depends on.

Each test reads the decoded template and checks one property a reviewer would
otherwise have to trust: the edge function runs before the cache on every
behavior, the token never reaches the cache key or the origin, the function may
touch nothing but the token tables and its logs, the table forgets records
after `ttl`, and nothing in the bucket is public.
"""

from __future__ import annotations

import re

from conftest import (
    ROOT, branches, deployed_resources, failed_rules, is_ref, only_resource, parameter_values, resolve,
    resources_of_type,
)

TOKEN_PARAMS = {"t"}  # the default token query parameter (edge/src/config.rs)
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


EDGE_MODES = ("lambda", "function-only", "prefilter")
# The managed CachingDisabled cache policy (AWS's documented id).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# Every bundle-related parameter a deploy passes, so the Rules can be evaluated.
SAMPLE_PARAMS = {
    "CodeBucket": "shop-artifacts-bucket", "CodeKey": "lambda-edge/x.zip",
    "BundleCodeSha256": "A" * 43 + "=", "KeyStoreVersion": "0123456789abcdef",
    "TableName": "shop-tokens", "HomeRegion": "us-east-1",
}


def behaviors(template):
    _, dist = only_resource(template, "AWS::CloudFront::Distribution")
    cfg = dist["Properties"]["DistributionConfig"]
    return [("default", cfg["DefaultCacheBehavior"])] + [
        (b.get("PathPattern", "?"), b) for b in cfg.get("CacheBehaviors", [])
    ]


def deployment(template, **given):
    """(resources, behaviors) as CloudFormation creates them for these parameters; Rules must pass."""
    params = parameter_values(template, **{**SAMPLE_PARAMS, **given})
    assert not failed_rules(template, params), f"{given}: rules refuse it: {failed_rules(template, params)}"
    resources = deployed_resources(template, params)
    (dist,) = [r for r in resources.values() if r["Type"] == "AWS::CloudFront::Distribution"]
    cfg = dist["Properties"]["DistributionConfig"]
    found = [("default", cfg["DefaultCacheBehavior"])] + [(b.get("PathPattern", "?"), b) for b in cfg.get("CacheBehaviors", [])]
    return resources, found


def ref_to(resources, value, type_name):
    """The deployed resource a {"Ref": X} or {"Fn::GetAtt": [X, ...]} names, checked to be of `type_name`."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
    elif isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        name = value["Fn::GetAtt"][0]
    else:
        raise AssertionError(f"expected a Ref or GetAtt, got {value!r}")
    assert name in resources, f"{name} is not created in this mode"
    assert resources[name]["Type"] == type_name, f"{name} is a {resources[name]['Type']}, not {type_name}"
    return resources[name]


ALL_DEPLOYMENTS = [
    dict(EdgeMode=mode, OriginType=origin, EnablePageMode=page, **({"CustomOriginDomainName": "files.example.com"} if origin == "custom" else {}))
    for mode in EDGE_MODES for origin in ("s3", "custom") for page in ("false", "true")
    if not (mode != "lambda" and page == "true")
]


def referenced(template, value, type_name):
    """The resource a {"Ref": X} names, checked to be of `type_name`."""
    assert isinstance(value, dict) and set(value) == {"Ref"}, f"expected a Ref, got {value!r}"
    resource = template["Resources"].get(value["Ref"])
    assert resource is not None, f"{value['Ref']} is not a resource"
    assert resource["Type"] == type_name, f"{value['Ref']} is a {resource['Type']}, not {type_name}"
    return resource


# ---------------------------------------------------------------- edge function


def test_lambda_mode_runs_a_numbered_version_on_viewer_request_of_every_behavior(main_template):
    resources, found = deployment(main_template, EdgeMode="lambda")
    assert found
    for name, behavior in found:
        assocs = behavior.get("LambdaFunctionAssociations", [])
        assert [a["EventType"] for a in assocs] == ["viewer-request"], f"behavior {name}: {assocs}"
        # A Ref to AWS::Lambda::Version is the version ARN; CloudFront refuses $LATEST.
        ref_to(resources, assocs[0]["LambdaFunctionARN"], "AWS::Lambda::Version")
        assert "FunctionAssociations" not in behavior, "lambda mode runs no CloudFront Function"
        ref_to(resources, behavior["CachePolicyId"], "AWS::CloudFront::CachePolicy")
        assert behavior["TargetOriginId"] == "files"
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::CloudFront::Function") or r["Type"].endswith("KeyValueStore")]


def _check_viewer_function(resources, behavior, name):
    """The behavior runs the CloudFront Function on viewer-request, with the KeyValueStore associated."""
    assocs = behavior.get("FunctionAssociations", [])
    assert [a["EventType"] for a in assocs] == ["viewer-request"], f"behavior {name}: {assocs}"
    assert assocs[0]["FunctionARN"] == {"Fn::GetAtt": ["ViewerFunction", "FunctionARN"]}
    fn = ref_to(resources, assocs[0]["FunctionARN"], "AWS::CloudFront::Function")["Properties"]
    assert fn["AutoPublish"] is True, "only a published function runs on LIVE"
    assert fn["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    (kvs_assoc,) = fn["FunctionConfig"]["KeyValueStoreAssociations"]
    kvs = ref_to(resources, kvs_assoc["KeyValueStoreARN"], "AWS::CloudFront::KeyValueStore")
    assert kvs_assoc["KeyValueStoreARN"] == {"Fn::GetAtt": ["FunctionKeyStore", "Arn"]}
    # The code gets this store's id through Fn::Sub of the build's placeholder.
    code, variables = fn["FunctionCode"]["Fn::Sub"]
    assert "${OncelinkKvsId}" in code
    assert variables == {"OncelinkKvsId": {"Fn::GetAtt": ["FunctionKeyStore", "Id"]}}
    return kvs


def test_function_only_runs_the_function_with_caching_and_no_lambda(main_template):
    resources, found = deployment(main_template, EdgeMode="function-only")
    for name, behavior in found:
        _check_viewer_function(resources, behavior, name)
        assert "LambdaFunctionAssociations" not in behavior, f"behavior {name}: function-only has no Lambda@Edge"
        cache = ref_to(resources, behavior["CachePolicyId"], "AWS::CloudFront::CachePolicy")
        assert cache["Properties"]["CachePolicyConfig"]["DefaultTTL"] > 0, "function-only links are served from the cache"
    types = {r["Type"] for r in resources.values()}
    assert not types & {"AWS::Lambda::Function", "AWS::Lambda::Version", "AWS::IAM::Role"}, "no Lambda, no role in function-only mode"


def test_prefilter_runs_the_function_then_the_lambda_on_origin_request_uncached(main_template):
    resources, found = deployment(main_template, EdgeMode="prefilter")
    for name, behavior in found:
        _check_viewer_function(resources, behavior, name)
        assocs = behavior.get("LambdaFunctionAssociations", [])
        assert [a["EventType"] for a in assocs] == ["origin-request"], f"behavior {name}: {assocs}"
        ref_to(resources, assocs[0]["LambdaFunctionARN"], "AWS::Lambda::Version")
        # origin-request runs only on a cache miss: with caching disabled, on every request the function let by.
        assert behavior["CachePolicyId"] == CACHING_DISABLED
        policy = ref_to(resources, behavior["OriginRequestPolicyId"], "AWS::CloudFront::OriginRequestPolicy")
        cfg = policy["Properties"]["OriginRequestPolicyConfig"]
        assert cfg["QueryStringsConfig"] == {"QueryStringBehavior": "all"}, "the consume needs the token"
        assert cfg["CookiesConfig"] == {"CookieBehavior": "none"}
        assert cfg["HeadersConfig"]["HeaderBehavior"] == "whitelist"
        headers = {h.lower() for h in cfg["HeadersConfig"]["Headers"]}
        assert "host" not in headers, "S3 with Origin Access Control needs its own Host"
        # CloudFront refuses Authorization in an origin request policy (HTTP 400).
        assert "authorization" not in headers and "cookie" not in headers
        assert headers == CORE_HEADERS - {"authorization"}


# Request headers the core reads (edge/src): the prefilter policy must forward them to origin-request.
CORE_HEADERS = {"user-agent", "range", "accept", "authorization", "sec-purpose", "purpose", "x-purpose", "x-moz"}


def test_the_core_still_reads_exactly_the_headers_the_prefilter_policy_names():
    source = "\n".join(p.read_text() for p in (ROOT / "edge" / "src").rglob("*.rs"))
    for header in CORE_HEADERS:
        assert f'"{header}"' in source, f"the core no longer reads {header}: update the prefilter origin request policy"


def test_the_lambda_never_runs_on_viewer_request_in_prefilter_or_at_all_in_function_only(main_template):
    for mode in EDGE_MODES:
        resources, found = deployment(main_template, EdgeMode=mode)
        events = {a["EventType"] for _, b in found for a in b.get("LambdaFunctionAssociations", [])}
        assert events == {"lambda": {"viewer-request"}, "function-only": set(), "prefilter": {"origin-request"}}[mode], mode


def test_the_rules_refuse_page_mode_with_a_function_and_missing_artifacts(main_template):
    def refused(**given):
        return failed_rules(main_template, parameter_values(main_template, **{**SAMPLE_PARAMS, **given}))
    assert refused(EdgeMode="function-only", EnablePageMode="true") == ["FunctionOnlyRefusesPageMode"]
    assert refused(EdgeMode="prefilter", EnablePageMode="true") == ["PrefilterRefusesPageMode"]
    assert refused(EdgeMode="lambda", EnablePageMode="true") == []
    assert refused(EdgeMode="function-only", CodeKey="", BundleCodeSha256="") == []
    assert refused(EdgeMode="prefilter", BundleCodeSha256="") == ["LambdaModesNeedBundle"]
    assert refused(EdgeMode="prefilter", KeyStoreVersion="") == ["FunctionModesNeedKeyStore"]
    assert refused(EdgeMode="lambda", KeyStoreVersion="") == []
    assert main_template["Parameters"]["EdgeMode"]["Default"] == "lambda"
    assert main_template["Parameters"]["EdgeMode"]["AllowedValues"] == list(EDGE_MODES)


def test_the_key_store_is_imported_from_the_private_artifacts_bucket(main_template):
    _, kvs = only_resource(main_template, "AWS::CloudFront::KeyValueStore")
    source = kvs["Properties"]["ImportSource"]
    assert source["SourceType"] == "S3"
    # CodeBucket is artifacts.yaml's bucket (private, KMS, no Allow statement); the key is the deploy's keyStoreKey.
    assert source["SourceArn"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${CodeBucket}/cloudfront-kvs/${KeyStoreVersion}.json"}
    # New keys, new version, new store name: CloudFormation replaces the store and so re-imports.
    assert "${KeyStoreVersion}" in kvs["Properties"]["Name"]["Fn::Sub"]


def test_the_function_code_placeholder_is_the_one_the_deploy_replaces(main_template):
    plan = (ROOT / "scripts" / "deploy" / "plan.mjs").read_text()
    m = re.search(r"FUNCTION_CODE_PLACEHOLDER =\s*'(\"[^']*\")';", plan)
    assert m, "scripts/deploy/plan.mjs no longer defines FUNCTION_CODE_PLACEHOLDER"
    raw = (ROOT / "infra" / "cloudformation" / "oncelink.yaml").read_text()
    assert raw.count(m.group(1)) == 1
    _, fn = only_resource(main_template, "AWS::CloudFront::Function")
    assert fn["Properties"]["FunctionCode"]["Fn::Sub"][0] == m.group(1)[1:-1]


def test_the_version_is_pinned_to_the_bundle_hash_and_outlives_the_stack(main_template):
    _, version = only_resource(main_template, "AWS::Lambda::Version")
    props = version["Properties"]
    assert is_ref(props["CodeSha256"], "BundleCodeSha256")
    # A new bundle hash must replace the version (publish a new one): CodeSha256 does.
    assert "BundleCodeSha256" in str(props["Description"])
    referenced(main_template, props["FunctionName"], "AWS::Lambda::Function")
    assert version["DeletionPolicy"] == "Retain" and version["UpdateReplacePolicy"] == "Retain"
    _, function = only_resource(main_template, "AWS::Lambda::Function")
    assert function["DeletionPolicy"] == "Retain", "replicated Lambda@Edge functions cannot be deleted with the stack"


def test_the_function_fits_lambda_edge_viewer_request_limits(main_template):
    _, function = only_resource(main_template, "AWS::Lambda::Function")
    props = function["Properties"]
    assert props["Runtime"].startswith("nodejs")
    assert props["Handler"] == "index.handler"  # scripts/build-bundle.mjs writes index.mjs
    assert props["MemorySize"] <= 128 and props["Timeout"] <= 5
    for unsupported in ("Environment", "VpcConfig", "Layers", "DeadLetterConfig", "ReservedConcurrentExecutions"):
        assert unsupported not in props, f"Lambda@Edge does not support {unsupported}"
    assert props.get("Architectures", ["x86_64"]) == ["x86_64"]
    assert is_ref(props["Code"]["S3Bucket"], "CodeBucket") and is_ref(props["Code"]["S3Key"], "CodeKey")


def test_the_stack_must_be_deployed_in_us_east_1(main_template):
    asserts = [a["Assert"] for rule in main_template["Rules"].values() for a in rule["Assertions"] if "RuleCondition" not in rule]
    assert {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]} in asserts


def test_role_is_trusted_by_lambda_and_edgelambda_only(main_template):
    _, role = only_resource(main_template, "AWS::IAM::Role")
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(statements) == 1
    assert statements[0]["Action"] == "sts:AssumeRole" and statements[0]["Effect"] == "Allow"
    assert sorted(statements[0]["Principal"]["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]


def _role_statements(template):
    role_name, role = only_resource(template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"], "managed policies grant more than the tables and logs"
    for policy in role["Properties"]["Policies"]:
        yield from policy["PolicyDocument"]["Statement"]
    # Policies that name the function (its name is generated) are attached from outside.
    for policy in resources_of_type(template, "AWS::IAM::RolePolicy").values():
        assert is_ref(policy["Properties"]["RoleName"], role_name)
        yield from policy["Properties"]["PolicyDocument"]["Statement"]


def _as_list(v):
    return v if isinstance(v, list) else [v]


def test_role_may_only_read_and_consume_tokens_and_write_its_logs(main_template):
    statements = list(_role_statements(main_template))
    actions = sorted(a for s in statements for a in _as_list(s["Action"]))
    assert actions == sorted([
        "dynamodb:GetItem", "dynamodb:UpdateItem",
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
    ])
    for s in statements:
        assert s["Effect"] == "Allow"
        for r in _as_list(s["Resource"]):
            assert r != "*", f"statement {s.get('Sid')} grants every resource"
        if any(a.startswith("dynamodb:") for a in _as_list(s["Action"])):
            (arn,) = _as_list(s["Resource"])
            assert arn == {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/${TableName}"}
            # The region wildcard is narrowed to the deployment's home regions.
            regions = s["Condition"]["StringEquals"]["aws:RequestedRegion"]
            assert "Fn::Split" in regions
            assert "HomeRegion" in str(regions) and "AdditionalHomeRegions" in str(regions)
        else:
            for r in _as_list(s["Resource"]):
                assert "/aws/lambda/" in r["Fn::Sub"] and "${EdgeFunction}" in r["Fn::Sub"]


def test_a_retained_function_never_blocks_a_new_stack_or_a_mode_switch_back_to_lambda(main_template):
    # The function is retained on delete and on replacement (its replicas
    # outlive the distribution by hours). With a fixed FunctionName, creating
    # it again (a new stack of the same name, or lambda -> function-only ->
    # lambda) fails with "already exists"; a generated name cannot collide.
    _, function = only_resource(main_template, "AWS::Lambda::Function")
    assert function["DeletionPolicy"] == "Retain"
    assert "FunctionName" not in function["Properties"], "a fixed name collides with the retained function"
    raw = (ROOT / "infra/cloudformation/oncelink.yaml").read_text()
    assert "-viewer-request" not in raw, "something still assumes the old fixed function name"
    _, group = only_resource(main_template, "AWS::Logs::LogGroup")
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${EdgeFunction}"}
    assert "FunctionName" in main_template["Outputs"], "tear-down needs the generated name"


# ---------------------------------------------------------------- cache key


def test_the_token_never_reaches_the_cache_key_or_the_origin(main_template):
    for given in ALL_DEPLOYMENTS:
        _check_token_stays_out(main_template, given)


def _check_token_stays_out(main_template, given):
    resources, found = deployment(main_template, **given)
    for name, behavior in found:
        if behavior["CachePolicyId"] == CACHING_DISABLED:
            # Nothing is cached, so there is no cache key; the query (token included) goes to the
            # origin-request consume, which strips it: only allowed with that Lambda in place.
            assert given["EdgeMode"] == "prefilter"
            (assoc,) = behavior["LambdaFunctionAssociations"]
            assert assoc["EventType"] == "origin-request"
            continue
        cache = ref_to(resources, behavior["CachePolicyId"], "AWS::CloudFront::CachePolicy")
        key = cache["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
        for concrete in branches(key):
            qs = concrete["QueryStringsConfig"]
            assert qs["QueryStringBehavior"] in {"none", "whitelist"}, f"{name}: query behavior {qs}"
            assert not TOKEN_PARAMS & set(qs.get("QueryStrings", [])), f"{name}: token in the cache key"
            headers = concrete["HeadersConfig"]
            assert headers["HeaderBehavior"] in {"none", "whitelist"}
            lowered = {h.lower() for h in headers.get("Headers", [])}
            # The token may also come as `Authorization: Oncelink <token>`; the grant header is the origin's secret.
            assert not lowered & {"authorization", "x-oncelink-grant", "cookie"}, f"{name}: {lowered}"
            assert concrete["CookiesConfig"]["CookieBehavior"] == "none"
        request = ref_to(resources, behavior["OriginRequestPolicyId"], "AWS::CloudFront::OriginRequestPolicy")
        cfg = request["Properties"]["OriginRequestPolicyConfig"]
        for concrete in branches(cfg):
            assert concrete["QueryStringsConfig"]["QueryStringBehavior"] in {"none", "whitelist"}
            assert not TOKEN_PARAMS & set(concrete["QueryStringsConfig"].get("QueryStrings", []))
            assert concrete["HeadersConfig"]["HeaderBehavior"] in {"none", "whitelist"}
            assert concrete["CookiesConfig"]["CookieBehavior"] == "none"


def test_the_edge_grant_reaches_a_custom_origin_only(main_template):
    """Headers the edge adds reach the origin only if a policy names them."""
    request = main_template["Resources"]["FilesOriginRequestPolicy"]
    cond, custom, s3 = request["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]["Fn::If"]
    assert cond == "IsCustomOrigin"
    assert custom == {"HeaderBehavior": "whitelist", "Headers": ["x-oncelink-grant"]}
    assert s3 == {"HeaderBehavior": "none"}


def test_the_file_name_the_edge_sets_is_part_of_the_cache_key(main_template):
    """Two links to one object with different `fn` must not share a cached Content-Disposition."""
    _, cache = only_resource(main_template, "AWS::CloudFront::CachePolicy")
    key = cache["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"]["Fn::If"][0] == "IsS3Origin"
    s3_branch = key["QueryStringsConfig"]["Fn::If"][1]
    assert s3_branch["QueryStrings"] == ["response-content-disposition"]
    assert key["HeadersConfig"]["Fn::If"][0] == "IsCustomOrigin"
    assert key["HeadersConfig"]["Fn::If"][1]["Headers"] == ["x-oncelink-disposition"]


# ---------------------------------------------------------------- distribution


def test_viewers_use_https_and_modern_protocols(main_template):
    _, dist = only_resource(main_template, "AWS::CloudFront::Distribution")
    cfg = dist["Properties"]["DistributionConfig"]
    assert cfg["HttpVersion"] == "http2and3"
    for name, behavior in behaviors(main_template):
        assert behavior["ViewerProtocolPolicy"] == "https-only", name
    certs = list(branches(cfg["ViewerCertificate"]))
    custom = [c for c in certs if "AcmCertificateArn" in c]
    assert custom and all(c["MinimumProtocolVersion"] == "TLSv1.2_2021" and c["SslSupportMethod"] == "sni-only" for c in custom)


def test_page_mode_is_off_by_default_and_turns_on_post_with_body(main_template):
    param = main_template["Parameters"]["EnablePageMode"]
    assert param["Default"] == "false"
    assert main_template["Conditions"]["PageMode"] == {"Fn::Equals": [{"Ref": "EnablePageMode"}, "true"]}
    for _, behavior in behaviors(main_template):
        cond, on, off = behavior["AllowedMethods"]["Fn::If"]
        # Without page mode: GET and HEAD, and OPTIONS only with CORS on (HasCors).
        assert cond == "PageMode" and set(on) == ALL_METHODS and off == {"Fn::If": ["HasCors", ["GET", "HEAD", "OPTIONS"], ["GET", "HEAD"]]}
        assert set(behavior["CachedMethods"]) == {"GET", "HEAD"}
    for page in ("false", "true"):
        _, found = deployment(main_template, EdgeMode="lambda", EnablePageMode=page)
        for _, behavior in found:
            (assoc,) = behavior["LambdaFunctionAssociations"]
            assert assoc["IncludeBody"] is (page == "true")


def test_origins_are_private_either_way(main_template):
    _, dist = only_resource(main_template, "AWS::CloudFront::Distribution")
    origins = list(branches(dist["Properties"]["DistributionConfig"]["Origins"]))
    assert len(origins) == 2
    s3 = [o[0] for o in origins if "S3OriginConfig" in o[0]]
    custom = [o[0] for o in origins if "CustomOriginConfig" in o[0]]
    assert len(s3) == 1 and len(custom) == 1
    assert s3[0]["S3OriginConfig"]["OriginAccessIdentity"] == ""
    assert s3[0]["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    cc = custom[0]["CustomOriginConfig"]
    assert cc["OriginProtocolPolicy"] == "https-only" and cc["OriginSSLProtocols"] == ["TLSv1.2"]
    # A custom header of that name would overwrite the grant the edge computes per request.
    names = {h["HeaderName"].lower() for h in custom[0].get("OriginCustomHeaders", [])}
    assert "x-oncelink-grant" not in names
    _, oac = only_resource(main_template, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"


# The statuses the edge generates (edge/src/error.rs Reason::status; pages are 200 and 303).
EDGE_ERROR_STATUSES = {400, 403, 404, 405, 410, 502, 503}
# Statuses CloudFront never caches at all: not in its list of cached 4xx and 5xx
# codes (400, 403, 404, 405, 414, 416, 500-504; "HTTP 4xx and 5xx status codes that
# CloudFront caches"), so no ErrorCachingMinTTL is needed (nor accepted) for them.
NEVER_CACHED = {429}
# CloudFront never caches these with Cache-Control no-store, which every
# generated answer carries; it caches the others for ErrorCachingMinTTL
# whatever Cache-Control says ("Control how long CloudFront caches errors").
NOT_CACHED_WITH_NO_STORE = {404, 410, 414, 501}


def test_no_status_the_edge_generates_is_answered_from_cache(main_template):
    for given in ALL_DEPLOYMENTS:
        resources, _ = deployment(main_template, **given)
        (dist,) = [r for r in resources.values() if r["Type"] == "AWS::CloudFront::Distribution"]
        errors = dist["Properties"]["DistributionConfig"].get("CustomErrorResponses", [])
        ttl = {e["ErrorCode"]: e["ErrorCachingMinTTL"] for e in errors}
        for e in errors:
            assert "ResponsePagePath" not in e and "ResponseCode" not in e, "the edge's own answer must reach the viewer"
        missing = {code for code in EDGE_ERROR_STATUSES - NOT_CACHED_WITH_NO_STORE if ttl.get(code) != 0}
        assert not missing, f"{given}: cached for 10 s by default: {sorted(missing)}"


def test_the_core_still_generates_only_the_statuses_the_distribution_expects():
    text = (ROOT / "edge/src/error.rs").read_text()
    body = text[text.index("pub const fn status"):]
    body = body[: body.index("\n    }\n")]
    statuses = {int(c) for c in re.findall(r"=> (\d{3})", body)}
    assert {c for c in statuses if c >= 400} - NEVER_CACHED == EDGE_ERROR_STATUSES, "a new error status needs ErrorCachingMinTTL 0"


def test_counted_downloads_are_never_recompressed(main_template):
    # Compression makes another representation (its own Content-Length), so a
    # Range resume could refer to other bytes than the first request got.
    for given in ALL_DEPLOYMENTS:
        _, found = deployment(main_template, **given)
        for name, behavior in found:
            assert behavior.get("Compress") is False, f"{given} behavior {name} compresses"
    _, policy = only_resource(main_template, "AWS::CloudFront::CachePolicy")
    params = policy["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    assert params["EnableAcceptEncodingGzip"] is False and params["EnableAcceptEncodingBrotli"] is False


def test_a_replaced_key_store_outlives_the_update(main_template):
    # A new KeyStoreVersion replaces the store; edge locations still run the
    # previous function code, which reads the previous store by id, until the
    # new code has spread: that store must not be deleted with the update.
    _, store = only_resource(main_template, "AWS::CloudFront::KeyValueStore")
    assert store.get("UpdateReplacePolicy") == "Retain"
    assert "KeyStoreVersion" in str(store["Properties"]["Name"]), "a new key file must make a new store"


def test_responses_do_not_leak_the_link_or_linger_in_caches(main_template):
    _, policy = only_resource(main_template, "AWS::CloudFront::ResponseHeadersPolicy")
    cfg = policy["Properties"]["ResponseHeadersPolicyConfig"]
    assert cfg["SecurityHeadersConfig"]["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert cfg["SecurityHeadersConfig"]["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    for items in branches(cfg["CustomHeadersConfig"]["Items"]):
        custom = {h["Header"].lower(): h for h in items}
        assert "no-store" in custom["cache-control"]["Value"] and custom["cache-control"]["Override"] is True
    for _, behavior in behaviors(main_template):
        referenced(main_template, behavior["ResponseHeadersPolicyId"], "AWS::CloudFront::ResponseHeadersPolicy")


# ---------------------------------------------------------------- buckets


def _check_private_bucket(template, bucket_name, bucket):
    block = bucket["Properties"]["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["Properties"]["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "AccessControl" not in bucket["Properties"] and "WebsiteConfiguration" not in bucket["Properties"]
    enc = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert enc[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    policies = [p for p in resources_of_type(template, "AWS::S3::BucketPolicy").values() if is_ref(p["Properties"]["Bucket"], bucket_name)]
    assert len(policies) == 1, f"{bucket_name} needs exactly one bucket policy"
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    tls = [s for s in statements if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"]
    assert tls, f"{bucket_name}: no TLS-only statement"
    for s in statements:
        if s["Effect"] == "Allow":
            assert s["Principal"] == {"Service": "cloudfront.amazonaws.com"}, f"{bucket_name}: Allow to {s['Principal']}"
            assert _as_list(s["Action"]) == ["s3:GetObject"]
            assert "AWS:SourceArn" in s["Condition"]["StringEquals"], "any distribution could read the bucket"
    return statements


def test_the_files_bucket_is_private_and_readable_only_by_this_distribution(main_template):
    name, bucket = only_resource(main_template, "AWS::S3::Bucket")
    statements = _check_private_bucket(main_template, name, bucket)
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert "${Distribution}" in allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert bucket["DeletionPolicy"] == "Retain"


def test_the_artifacts_bucket_is_private(artifacts_template):
    name, bucket = only_resource(artifacts_template, "AWS::S3::Bucket")
    statements = _check_private_bucket(artifacts_template, name, bucket)
    assert not [s for s in statements if s["Effect"] == "Allow"], "bundles hold the signing keys: no one is granted reads"


# ---------------------------------------------------------------- token table


def ttl_attribute_the_edge_writes() -> str:
    """The attribute the UpdateItem expression names `#e` (the record's expiry), from the source."""
    source = (ROOT / "edge" / "src" / "dynamodb" / "mod.rs").read_text()
    m = re.search(r'\\?"#e\\?":\\?"([A-Za-z_]+)\\?"', source)
    assert m, "edge/src/dynamodb/mod.rs no longer names the expiry attribute #e: update this test"
    return m.group(1)


def test_the_token_table_matches_the_store(table_template):
    table = table_template["Resources"]["TokenTable"]
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": ttl_attribute_the_edge_writes(), "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert is_ref(props["DeletionProtectionEnabled"], "DeletionProtection")
    assert table_template["Parameters"]["DeletionProtection"]["Default"] == "true"
    assert "Replicas" not in props, "one table per region, never replicated"
    off = deployed_resources(table_template, parameter_values(table_template, TableName="shop-tokens"))
    assert "StreamSpecification" not in off["TokenTable"]["Properties"], "no stream unless Events"
    assert table["DeletionPolicy"] == "Retain", "deleting the table would re-arm used links"


def test_the_table_name_is_the_one_the_role_grants(main_template, table_template):
    table = table_template["Resources"]["TokenTable"]
    assert is_ref(table["Properties"]["TableName"], "TableName")
    assert "TableName" in main_template["Parameters"]


# ---------------------------------------------------------------- link events (docs/events.md, "On AWS")

EVENTS_ON = {"TableName": "shop-tokens", "Events": "true", "EventsCodeBucket": "shop-artifacts", "WebhookUrls": "https://hooks.example.com/a https://hooks.example.com/b", "WebhookSecretParameter": "/oncelink/webhook-secret"}


def test_events_are_off_by_default_and_add_nothing_then(table_template):
    assert table_template["Parameters"]["Events"]["Default"] == "false"
    off = deployed_resources(table_template, parameter_values(table_template, TableName="shop-tokens"))
    assert set(off) == {"TokenTable"}, "without Events the stack is the token table alone"
    assert failed_rules(table_template, parameter_values(table_template, TableName="shop-tokens")) == []


def test_events_need_their_code_and_webhooks_need_a_secret(table_template):
    params = lambda **p: parameter_values(table_template, **{**EVENTS_ON, **p})
    assert failed_rules(table_template, params()) == []
    assert failed_rules(table_template, params(EventsCodeBucket="")) == ["EventsNeedTheirCode"]
    assert failed_rules(table_template, params(WebhookSecretParameter="")) == ["WebhooksNeedASecret"]


def test_the_stream_carries_both_images_and_never_waits_for_a_receiver(table_template):
    on = deployed_resources(table_template, parameter_values(table_template, **EVENTS_ON))
    assert on["TokenTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    stream = on["EventsStreamMapping"]["Properties"]
    assert stream["EventSourceArn"] == {"Fn::GetAtt": ["TokenTable", "StreamArn"]}
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"], "retry from the failed record, not the batch"
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    retry = on["EventsRetryMapping"]["Properties"]
    assert retry["EventSourceArn"] == {"Fn::GetAtt": ["EventsRetryQueue", "Arn"]}
    assert on["EventsRetryQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    # A message is invisible while being delivered: longer than the function may run.
    assert on["EventsRetryQueue"]["Properties"]["VisibilityTimeout"] >= 6 * on["EventsFunction"]["Properties"]["Timeout"]
    audit = on["AuditTable"]["Properties"]
    assert audit["TableName"] == {"Fn::Sub": "${TableName}-events"}, "oncelink audit reads <table>-events"
    assert audit["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "seq", "KeyType": "RANGE"}]
    assert audit["TimeToLiveSpecification"] == {"AttributeName": "expire_at", "Enabled": True}


def test_the_events_role_grants_exactly_what_the_lambda_calls(table_template):
    on = deployed_resources(table_template, parameter_values(table_template, **EVENTS_ON))
    grants = {}
    for policy in on["EventsRole"]["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            assert st["Effect"] == "Allow"
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert st["Resource"] != "*" and all("*" not in a for a in actions), st
            for a in actions:
                grants.setdefault(a, []).append(st["Resource"])
    # events/lambda.mjs: PutItem, SendMessage, GetParameter; the two mappings: the stream and the queue.
    assert sorted(grants) == sorted([
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
        "dynamodb:PutItem", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility", "sqs:SendMessage", "logs:CreateLogStream", "logs:PutLogEvents",
        "ssm:GetParameter", "kms:Decrypt",
    ])
    assert grants["dynamodb:PutItem"] == [{"Fn::GetAtt": ["AuditTable", "Arn"]}], "the token table is never written"
    (kms,) = [st for p in on["EventsRole"]["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"] if st["Action"] == "kms:Decrypt"]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
    no_secret = deployed_resources(table_template, parameter_values(table_template, **{**EVENTS_ON, "WebhookUrls": "", "WebhookSecretParameter": ""}))
    names = [p["PolicyName"] for p in no_secret["EventsRole"]["Properties"]["Policies"]]
    assert "read-the-webhook-secret" not in names


def test_the_events_function_gets_every_setting_the_lambda_reads_and_no_secret(table_template):
    on = deployed_resources(table_template, parameter_values(table_template, **EVENTS_ON))
    fn = on["EventsFunction"]["Properties"]
    assert fn["Runtime"] == "nodejs22.x" and fn["Handler"] == "index.handler"
    env = fn["Environment"]["Variables"]
    source = (ROOT / "events" / "lambda.mjs").read_text()
    read = set(re.findall(r"env\.(ONCELINK_[A-Z_]+)|'(ONCELINK_[A-Z_]+)'", source))
    read = {a or b for a, b in read}
    assert set(env) <= read, f"set but never read: {set(env) - read}"
    for required in ("ONCELINK_EVENTS_TABLE", "ONCELINK_WEBHOOK_URLS", "ONCELINK_WEBHOOK_SECRET_PARAMETER", "ONCELINK_RETRY_QUEUE_URL", "ONCELINK_DEAD_LETTER_QUEUE_URL"):
        assert required in env, required
    assert not any("SECRET" in k and "PARAMETER" not in k for k in env), "the secret itself is never in the environment"


# ---------------------------------------------------------------- rate limit (WAF)


def web_acls(resources):
    return {name: r for name, r in resources.items() if r["Type"] == "AWS::WAFv2::WebACL"}


def distribution_config(resources):
    (dist,) = [r for r in resources.values() if r["Type"] == "AWS::CloudFront::Distribution"]
    return dist["Properties"]["DistributionConfig"]


def test_no_web_acl_is_created_or_attached_by_default(main_template):
    for given in ALL_DEPLOYMENTS:
        resources, _ = deployment(main_template, **given)
        assert not web_acls(resources), given
        assert "WebACLId" not in distribution_config(resources), given
    assert main_template["Parameters"]["WafRateLimit"]["Default"] == 0


def test_the_rate_limit_web_acl_blocks_one_ip_over_the_limit_with_429_and_is_attached(main_template):
    for mode in EDGE_MODES:
        resources, _ = deployment(main_template, EdgeMode=mode, WafRateLimit="500")
        ((name, acl),) = web_acls(resources).items()
        props = acl["Properties"]
        assert props["Scope"] == "CLOUDFRONT", "a CloudFront web ACL (and this stack is held to us-east-1)"
        assert props["DefaultAction"] == {"Allow": {}}
        (rule,) = props["Rules"]
        statement = rule["Statement"]["RateBasedStatement"]
        assert statement["AggregateKeyType"] == "IP"
        assert is_ref(statement["Limit"], "WafRateLimit") and is_ref(statement["EvaluationWindowSec"], "WafRateLimitWindowSec")
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        assert [h["Name"] for h in response["ResponseHeaders"]] == ["retry-after"]
        assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
        assert distribution_config(resources)["WebACLId"] == {"Fn::GetAtt": [name, "Arn"]}
    assert main_template["Parameters"]["WafRateLimitWindowSec"]["AllowedValues"] == [60, 120, 300, 600]
    assert main_template["Parameters"]["WafRateLimitWindowSec"]["Default"] == 300


def test_a_web_acl_of_your_own_is_attached_as_is_and_excludes_the_rate_limit_acl(main_template):
    arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/mine/abc"
    resources, _ = deployment(main_template, WebAclArn=arn)
    assert not web_acls(resources)
    assert is_ref(distribution_config(resources)["WebACLId"], "WebAclArn")
    refused = failed_rules(main_template, parameter_values(main_template, **SAMPLE_PARAMS, WebAclArn=arn, WafRateLimit="500"))
    assert refused == ["OneWebAcl"]


# ---------------------------------------------------------------- outputs


def test_outputs_give_the_domain_tables_and_a_mint_line(main_template):
    outputs = main_template["Outputs"]
    for key in ("DistributionDomainName", "DistributionId", "TableName", "TableRegions", "FunctionVersionArn", "BaseUrl", "MintCommand"):
        assert key in outputs, key
    for mode in EDGE_MODES:
        params = parameter_values(main_template, **SAMPLE_PARAMS, EdgeMode=mode)
        text = resolve(main_template, outputs["MintCommand"]["Value"], params)["Fn::Sub"]
        assert text.startswith("oncelink mint --keys ") and " --base-url https://" in text
        # function-only refuses use-limited tokens (needs_consume): its line mints a time-limited link.
        assert ("--uses 1" in text) is (mode != "function-only"), (mode, text)


# ---------------------------------------------------------------- CORS (optional)

CORS_ORIGINS = "https://app.example.com,http://localhost:8080"


def core_cors_constants():
    """The CORS answer the core writes itself (edge/src/cors.rs), read from the source."""
    source = (ROOT / "edge" / "src" / "cors.rs").read_text()
    found = dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]*)";', source))
    max_age = re.search(r"pub const PREFLIGHT_MAX_AGE: u32 = ([0-9]+);", source)
    assert {"EXPOSE_HEADERS", "ALLOW_METHODS", "ALLOW_HEADERS"} <= set(found) and max_age, "edge/src/cors.rs changed: update this test"
    split = lambda s: [x.strip() for x in s.split(",")]  # noqa: E731
    return {
        "expose": split(found["EXPOSE_HEADERS"]), "methods": split(found["ALLOW_METHODS"]),
        "headers": split(found["ALLOW_HEADERS"]), "max_age": int(max_age.group(1)),
    }


def files_policy(resources):
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"]
    return policy["Properties"]["ResponseHeadersPolicyConfig"]


def test_cors_is_off_by_default_and_then_changes_nothing(main_template):
    assert main_template["Parameters"]["CorsOrigins"]["Default"] == ""
    for given in ALL_DEPLOYMENTS:
        resources, found = deployment(main_template, **given)
        cfg = files_policy(resources)
        assert "CorsConfig" not in cfg, given
        assert [h["Header"] for h in cfg["CustomHeadersConfig"]["Items"]] == ["Cache-Control", "X-Robots-Tag"], given
        for _, behavior in found:
            expected = sorted(ALL_METHODS) if given["EnablePageMode"] == "true" else ["GET", "HEAD"]
            assert sorted(behavior["AllowedMethods"]) == expected, given


def test_cors_origins_give_the_forwarded_files_the_answer_the_edge_writes(main_template):
    core = core_cors_constants()
    for given in ALL_DEPLOYMENTS:
        if given["EdgeMode"] != "lambda":
            continue
        resources, found = deployment(main_template, **given, CorsOrigins=CORS_ORIGINS)
        cors = files_policy(resources)["CorsConfig"]
        assert cors["AccessControlAllowOrigins"]["Items"] == {"Fn::Split": [",", {"Ref": "CorsOrigins"}]}
        assert [m.upper() for m in cors["AccessControlAllowMethods"]["Items"]] == core["methods"]
        assert cors["AccessControlAllowHeaders"]["Items"] == core["headers"]
        assert cors["AccessControlExposeHeaders"]["Items"] == core["expose"]
        assert cors["AccessControlMaxAgeSec"] == core["max_age"]
        assert cors["AccessControlAllowCredentials"] is False, "links are bearer tokens: no cookies, no credentials"
        assert cors["OriginOverride"] is True, "the distribution's list is the one source of truth"
        vary = [h for h in files_policy(resources)["CustomHeadersConfig"]["Items"] if h["Header"].lower() == "vary"]
        assert vary == [{"Header": "Vary", "Value": "Origin", "Override": False}], given
        for _, behavior in found:
            assert "OPTIONS" in behavior["AllowedMethods"], "a preflight must reach the edge function"
            assert behavior["CachedMethods"] == ["GET", "HEAD"], "a preflight answer must never be cached"
            assert behavior["LambdaFunctionAssociations"][0]["EventType"] == "viewer-request", "preflights are answered before the cache"
            # CloudFront adds the CORS headers after the cache: the origin never
            # sees Origin, so no cached object carries another origin's headers.
            cache = ref_to(resources, behavior["CachePolicyId"], "AWS::CloudFront::CachePolicy")
            cache_headers = cache["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]
            forwarded = ref_to(resources, behavior["OriginRequestPolicyId"], "AWS::CloudFront::OriginRequestPolicy")
            origin_headers = forwarded["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]
            for headers in (cache_headers, origin_headers):
                assert headers["HeaderBehavior"] in ("none", "whitelist"), given
                assert "origin" not in [h.lower() for h in headers.get("Headers", [])], given


def test_cors_origins_need_the_lambda_tier(main_template):
    for mode in ("function-only", "prefilter"):
        params = parameter_values(main_template, **SAMPLE_PARAMS, EdgeMode=mode, CorsOrigins=CORS_ORIGINS)
        assert failed_rules(main_template, params) == ["CorsNeedsLambdaMode"], mode


def test_the_cors_origins_pattern_takes_origins_and_nothing_else(main_template):
    pattern = main_template["Parameters"]["CorsOrigins"]["AllowedPattern"]
    for ok in ("", "https://app.example.com", CORS_ORIGINS, "https://[::1]:8443"):
        assert re.fullmatch(pattern, ok), ok
    for bad in ("*", "https://app.example.com/", "https://App.example.com", "app.example.com", "https://a.example,", "https://a.example, https://b.example",
                "https://:443", "https://a.example:"):
        assert not re.fullmatch(pattern, bad), bad
