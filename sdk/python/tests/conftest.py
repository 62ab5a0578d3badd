"""The Python package's test harness. scripts/test-sdk-python.sh installs the
built wheel into a fresh virtualenv and runs these tests there, from outside
the source tree, so `import oncelink` is the installed wheel."""

import json
import os
import pathlib

import pytest

# The tests run from a scratch copy; the repository is $ONCELINK_ROOT.
ROOT = pathlib.Path(os.environ.get("ONCELINK_ROOT") or pathlib.Path(__file__).resolve().parents[3])


def read_json(rel):
    return json.loads((ROOT / rel).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def bin_dir():
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = pathlib.Path(os.environ.get("ONCELINK_BIN_DIR", target / "debug"))
    for name in ("oncelink", "origin-shim"):
        if not (path / name).exists():
            pytest.fail(f"{path / name} is missing: run 'cargo build -p origin-shim -p oncelink'")
    return path
