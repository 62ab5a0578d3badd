"""The wiring of infra/cloudformation that security depends on.

Each test reads the decoded template and checks one property a reviewer would
otherwise have to trust: the edge function runs before the cache on every
behavior, the token never reaches the cache key or the origin, the function may
touch nothing but the token tables and its logs, the table forgets records
after `ttl`, and nothing in the bucket is public.
"""

from __future__ import annotations

import re

from conftest import ROOT, branches, is_ref, only_resource, resources_of_type

TOKEN_PARAMS = {"t"}  # the default token query parameter (edge/src/config.rs)
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


def behaviors(template):
    _, dist = only_resource(template, "AWS::CloudFront::Distribution")
    cfg = dist["Properties"]["DistributionConfig"]
    return [("default", cfg["DefaultCacheBehavior"])] + [
        (b.get("PathPattern", "?"), b) for b in cfg.get("CacheBehaviors", [])
    ]


def referenced(template, value, type_name):
    """The resource a {"Ref": X} names, checked to be of `type_name`."""
    assert isinstance(value, dict) and set(value) == {"Ref"}, f"expected a Ref, got {value!r}"
    resource = template["Resources"].get(value["Ref"])
    assert resource is not None, f"{value['Ref']} is not a resource"
    assert resource["Type"] == type_name, f"{value['Ref']} is a {resource['Type']}, not {type_name}"
    return resource


# ---------------------------------------------------------------- edge function


def test_every_behavior_runs_a_numbered_version_on_viewer_request(main_template):
    found = behaviors(main_template)
    assert found
    for name, behavior in found:
        assocs = behavior.get("LambdaFunctionAssociations", [])
        viewer = [a for a in assocs if a["EventType"] == "viewer-request"]
        assert len(viewer) == 1, f"behavior {name}: needs exactly one viewer-request function, has {assocs}"
        # A Ref to AWS::Lambda::Version is the version ARN; CloudFront refuses $LATEST.
        referenced(main_template, viewer[0]["LambdaFunctionARN"], "AWS::Lambda::Version")
        assert behavior["TargetOriginId"] == "files"


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
    _, role = only_resource(template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"], "managed policies grant more than the tables and logs"
    for policy in role["Properties"]["Policies"]:
        yield from policy["PolicyDocument"]["Statement"]


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
                assert "/aws/lambda/" in r["Fn::Sub"] and "${AWS::StackName}-viewer-request" in r["Fn::Sub"]


# ---------------------------------------------------------------- cache key


def test_the_token_never_reaches_the_cache_key_or_the_origin(main_template):
    for name, behavior in behaviors(main_template):
        cache = referenced(main_template, behavior["CachePolicyId"], "AWS::CloudFront::CachePolicy")
        key = cache["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
        for concrete in branches(key):
            qs = concrete["QueryStringsConfig"]
            assert qs["QueryStringBehavior"] in {"none", "whitelist"}, f"{name}: query behavior {qs}"
            assert not TOKEN_PARAMS & set(qs.get("QueryStrings", [])), f"{name}: token in the cache key"
            headers = concrete["HeadersConfig"]
            assert headers["HeaderBehavior"] in {"none", "whitelist"}
            lowered = {h.lower() for h in headers.get("Headers", [])}
            # The token may also come as `Authorization: Bearer`; the grant header is the origin's secret.
            assert not lowered & {"authorization", "x-oncelink-grant", "cookie"}, f"{name}: {lowered}"
            assert concrete["CookiesConfig"]["CookieBehavior"] == "none"
        request = referenced(main_template, behavior["OriginRequestPolicyId"], "AWS::CloudFront::OriginRequestPolicy")
        cfg = request["Properties"]["OriginRequestPolicyConfig"]
        for concrete in branches(cfg):
            assert concrete["QueryStringsConfig"]["QueryStringBehavior"] in {"none", "whitelist"}
            assert not TOKEN_PARAMS & set(concrete["QueryStringsConfig"].get("QueryStrings", []))
            assert concrete["HeadersConfig"]["HeaderBehavior"] in {"none", "whitelist"}
            assert concrete["CookiesConfig"]["CookieBehavior"] == "none"


def test_the_edge_grant_reaches_a_custom_origin_only(main_template):
    """Headers the edge adds reach the origin only if a policy names them."""
    _, request = only_resource(main_template, "AWS::CloudFront::OriginRequestPolicy")
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
        assert cond == "PageMode" and set(on) == ALL_METHODS and set(off) == {"GET", "HEAD"}
        (assoc,) = behavior["LambdaFunctionAssociations"]
        assert assoc["IncludeBody"] == {"Fn::If": ["PageMode", True, False]}
        assert set(behavior["CachedMethods"]) == {"GET", "HEAD"}


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


def test_responses_do_not_leak_the_link_or_linger_in_caches(main_template):
    _, policy = only_resource(main_template, "AWS::CloudFront::ResponseHeadersPolicy")
    cfg = policy["Properties"]["ResponseHeadersPolicyConfig"]
    assert cfg["SecurityHeadersConfig"]["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert cfg["SecurityHeadersConfig"]["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    custom = {h["Header"].lower(): h for h in cfg["CustomHeadersConfig"]["Items"]}
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
    _, table = only_resource(table_template, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": ttl_attribute_the_edge_writes(), "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert is_ref(props["DeletionProtectionEnabled"], "DeletionProtection")
    assert table_template["Parameters"]["DeletionProtection"]["Default"] == "true"
    assert "StreamSpecification" not in props and "Replicas" not in props, "one table per region, never replicated"
    assert table["DeletionPolicy"] == "Retain", "deleting the table would re-arm used links"


def test_the_table_name_is_the_one_the_role_grants(main_template, table_template):
    _, table = only_resource(table_template, "AWS::DynamoDB::Table")
    assert is_ref(table["Properties"]["TableName"], "TableName")
    assert "TableName" in main_template["Parameters"]


# ---------------------------------------------------------------- outputs


def test_outputs_give_the_domain_tables_and_a_mint_line(main_template):
    outputs = main_template["Outputs"]
    for key in ("DistributionDomainName", "DistributionId", "TableName", "TableRegions", "FunctionVersionArn", "BaseUrl", "MintCommand"):
        assert key in outputs, key
    for line in branches(outputs["MintCommand"]["Value"]):
        text = line["Fn::Sub"]
        assert text.startswith("oncelink mint --keys ") and " --base-url https://" in text and "--uses 1" in text
