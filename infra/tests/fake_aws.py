#!/usr/bin/env python3
"""A stand-in `aws` executable for the deploy script's real (non-dry-run) path.

No AWS account is reachable here, so the tests put this first on PATH. It
records every call (argv as JSON lines in $FAKE_AWS_LOG) and answers the few
calls whose output the script reads. It checks what AWS would check on the one
call that carries data: `s3api put-object --checksum-sha256` must match the body.
Knobs (environment): FAKE_AWS_FAIL (a substring; a call whose argv contains it
exits 255), FAKE_AWS_CODE_SHA256 (what `lambda get-function-configuration`
reports; default: the sha256 of the last uploaded body), FAKE_AWS_SSM_TYPE (the
type `ssm get-parameter` reports; default SecureString).
"""

import base64
import hashlib
import json
import os
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_AWS_LOG"]).with_suffix(".state.json")


def opt(args, name):
    return args[args.index(name) + 1] if name in args else None


def main(args):
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write(json.dumps(args) + "\n")
    fail = os.environ.get("FAKE_AWS_FAIL")
    if fail and fail in " ".join(args):
        print(f"fake aws: failing on purpose ({fail})", file=sys.stderr)
        return 255
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    cmd = args[:2]
    if cmd == ["sts", "get-caller-identity"]:
        print("123456789012")
    elif cmd == ["cloudformation", "describe-stacks"]:
        stack = opt(args, "--stack-name")
        if stack.endswith("-artifacts"):
            region = opt(args, "--region")
            print(f"{stack}-artifactsbucket-1a2b3c" if region == "us-east-1" else f"{stack}-artifactsbucket-{region}")
        else:
            print(json.dumps([
                {"OutputKey": "DistributionId", "OutputValue": "E2EXAMPLE"},
                {"OutputKey": "BaseUrl", "OutputValue": "https://d111111abcdef8.cloudfront.net"},
                {"OutputKey": "FunctionVersionArn", "OutputValue": f"arn:aws:lambda:us-east-1:123456789012:function:{stack}-viewer-request:7"},
                {"OutputKey": "ViewerFunctionArn", "OutputValue": f"arn:aws:cloudfront::123456789012:function/{stack}-viewer-function"},
                {"OutputKey": "MintCommand", "OutputValue": "oncelink mint --keys keys.json --path /example.pdf --uses 1 --ttl 1h --base-url https://d111111abcdef8.cloudfront.net"},
            ]))
    elif cmd == ["s3api", "put-object"]:
        body = Path(opt(args, "--body")).read_bytes()
        actual = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if actual != opt(args, "--checksum-sha256"):
            print("fake aws: BadDigest: the SHA256 you specified did not match the calculated checksum", file=sys.stderr)
            return 255
        state["uploaded"] = actual
        STATE.write_text(json.dumps(state))
        print(json.dumps({"ChecksumSHA256": actual}))
    elif cmd == ["ssm", "get-parameter"]:
        print(os.environ.get("FAKE_AWS_SSM_TYPE", "SecureString"))
    elif cmd == ["lambda", "get-function-configuration"]:
        print(os.environ.get("FAKE_AWS_CODE_SHA256") or state.get("uploaded", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
