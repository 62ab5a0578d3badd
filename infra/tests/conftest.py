"""Shared loaders for the offline infra checks.

Templates are read with cfn-lint's own decoder, which understands the short
CloudFormation tags (!Ref, !GetAtt, !If, !Sub ...) and returns them in their long
JSON form ({"Ref": ...}, {"Fn::If": [...]}). Terraform files are read with
python-hcl2 and normalised (quotes and parser bookkeeping removed).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Iterator

import hcl2
import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
CFN_DIR = ROOT / "infra" / "cloudformation"
TF_DIR = ROOT / "infra" / "terraform"


def load_template(name: str) -> dict:
    """A CloudFormation template from infra/cloudformation, decoded; fails on parse errors."""
    template, matches = decode(str(CFN_DIR / name))
    assert not matches, f"{name} does not parse: {matches}"
    assert isinstance(template, dict)
    return template


@pytest.fixture(scope="session")
def main_template() -> dict:
    return load_template("oncelink.yaml")


@pytest.fixture(scope="session")
def table_template() -> dict:
    return load_template("token-table.yaml")


@pytest.fixture(scope="session")
def artifacts_template() -> dict:
    return load_template("artifacts.yaml")


def resources_of_type(template: dict, type_name: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_name}


def only_resource(template: dict, type_name: str) -> tuple[str, dict]:
    found = resources_of_type(template, type_name)
    assert len(found) == 1, f"expected one {type_name}, found {sorted(found)}"
    return next(iter(found.items()))


def branches(value: Any) -> Iterator[Any]:
    """Every concrete value a property can take, expanding each Fn::If both ways."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            _, when_true, when_false = value["Fn::If"]
            yield from branches(when_true)
            yield from branches(when_false)
            return
        keys = list(value)
        for combo in itertools.product(*(list(branches(value[k])) for k in keys)):
            yield {k: v for k, v in zip(keys, combo) if v != {"Ref": "AWS::NoValue"}}
    elif isinstance(value, list):
        for combo in itertools.product(*(list(branches(v)) for v in value)):
            yield [v for v in combo if v != {"Ref": "AWS::NoValue"}]
    else:
        yield value


def is_ref(value: Any, name: str) -> bool:
    return value == {"Ref": name}


# ------------------------------------------------------------------ terraform

_BOOKKEEPING = {"__comments__", "__is_block__", "__start_line__", "__end_line__"}


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s


def normalise(value: Any) -> Any:
    """python-hcl2 8 output without quotes around strings and names, and without bookkeeping keys."""
    if isinstance(value, dict):
        return {_unquote(k): normalise(v) for k, v in value.items() if k not in _BOOKKEEPING}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


def load_tf_dir(path: Path) -> dict[str, list]:
    """Every top-level block kind of the .tf files in one directory, merged; fails on parse errors."""
    merged: dict[str, list] = {}
    files = sorted(path.glob("*.tf"))
    assert files, f"no .tf files in {path}"
    for f in files:
        with f.open() as fh:
            try:
                parsed = hcl2.load(fh)
            except Exception as err:  # the parser raises several types
                pytest.fail(f"{f.relative_to(ROOT)} does not parse: {err}")
        for kind, blocks in normalise(parsed).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def tf_resources(module: dict[str, list]) -> dict[tuple[str, str], dict]:
    """(type, name) -> body for every resource block of a parsed module."""
    out: dict[tuple[str, str], dict] = {}
    for block in module.get("resource", []):
        for rtype, named in block.items():
            for name, body in named.items():
                out[(rtype, name)] = body
    return out


# ------------------------------------------------------- resolving a template


def parameter_values(template: dict, **given: str) -> dict[str, str]:
    """The template's parameter defaults, overridden by `given` (names as in the template)."""
    values = {k: str(v["Default"]) for k, v in template["Parameters"].items() if "Default" in v}
    unknown = set(given) - set(template["Parameters"])
    assert not unknown, f"not template parameters: {unknown}"
    values.update(given)
    values.setdefault("AWS::Region", "us-east-1")
    return values


def evaluate(template: dict, expr: Any, params: dict[str, str]) -> Any:
    """A condition or rule expression (Fn::Equals/Not/And/Or, Condition, Ref) for these parameter values."""
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, arg), = expr.items()
        if fn == "Ref":
            assert arg in params, f"no value for parameter {arg}"
            return params[arg]
        if fn == "Condition":
            return evaluate(template, template["Conditions"][arg], params)
        if fn == "Fn::Equals":
            a, b = (evaluate(template, x, params) for x in arg)
            return str(a) == str(b)
        if fn == "Fn::Not":
            return not evaluate(template, arg[0], params)
        if fn == "Fn::And":
            return all(evaluate(template, x, params) for x in arg)
        if fn == "Fn::Or":
            return any(evaluate(template, x, params) for x in arg)
        raise AssertionError(f"cannot evaluate {fn} here")
    return expr


def resolve(template: dict, value: Any, params: dict[str, str]) -> Any:
    """`value` with every Fn::If decided for these parameters and AWS::NoValue dropped."""
    no_value = {"Ref": "AWS::NoValue"}
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            cond, when_true, when_false = value["Fn::If"]
            chosen = when_true if evaluate(template, template["Conditions"][cond], params) else when_false
            return resolve(template, chosen, params)
        out = {}
        for k, v in value.items():
            r = resolve(template, v, params)
            if r != no_value:
                out[k] = r
        return out
    if isinstance(value, list):
        return [r for r in (resolve(template, v, params) for v in value) if r != no_value]
    return value


def deployed_resources(template: dict, params: dict[str, str]) -> dict[str, dict]:
    """The resources CloudFormation creates for these parameters, Fn::If resolved."""
    out = {}
    for name, res in template["Resources"].items():
        cond = res.get("Condition")
        if cond is None or evaluate(template, template["Conditions"][cond], params):
            out[name] = resolve(template, res, params)
    return out


def failed_rules(template: dict, params: dict[str, str]) -> list[str]:
    """Names of the template Rules whose assertions fail for these parameters."""
    failed = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not evaluate(template, rule["RuleCondition"], params):
            continue
        if not all(evaluate(template, a["Assert"], params) for a in rule["Assertions"]):
            failed.append(name)
    return failed
