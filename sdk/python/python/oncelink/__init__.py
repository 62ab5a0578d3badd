"""oncelink: mint, link, verify and inspect oncelink tokens from Python.

The work is done by the same Rust core the edge runs (the extension
``oncelink._native``); this module only moves text across: options to JSON,
the clock (``time.time``) and random bytes (``os.urandom``) in, a token or
claims out, and every refusal as one :class:`Error` with a stable reason.
Options are the CLI's names (docs/sdk-python.md); an unknown one is an
:class:`Error` with reason ``unknown_option``, never silently ignored.
"""

import json as _json
import os as _os
import time as _time

__all__ = ["Error", "mint", "link", "verify", "inspect", "keygen"]


class Error(Exception):
    """A refusal with a stable reason code (``.reason``); never carries a secret."""

    def __init__(self, reason, message):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


from . import _native  # noqa: E402  (after Error: the extension raises it)

def _keys_text(keys):
    if isinstance(keys, str):
        return keys
    if isinstance(keys, dict):
        return _json.dumps(keys)
    raise Error("bad_keys", "keys must be the key file as JSON text or as a dict")


def _options_text(options):
    return _json.dumps({k: v for k, v in options.items() if v is not None})


def _text(value, name):
    if not isinstance(value, str):
        raise Error("bad_option", f"{name} must be a str")
    return value


def mint(keys, **options):
    """Mints a token with the key file's active key."""
    return _native.mint(_keys_text(keys), _options_text(options), _time.time(), _os.urandom(16))


def link(base_url, path, token, **options):
    """The URL of ``token`` for ``path`` (decoded, as minted) on ``base_url``."""
    return _native.link(_text(base_url, "base_url"), _text(path, "path"), _text(token, "token"), _options_text(options))


def verify(keys, token_or_url, **options):
    """Checks a token or link as the edge would (uses are not counted here).

    A refusal of the token is an answer (``{"valid": False, "reason": ...}``);
    only a caller's mistake (keys, options) raises.
    """
    return _json.loads(
        _native.verify(_keys_text(keys), _text(token_or_url, "token_or_url"), _options_text(options), _time.time())
    )


def inspect(token_or_url, **options):
    """A token's kid and claims WITHOUT checking its signature."""
    return _json.loads(_native.inspect(_text(token_or_url, "token_or_url"), _options_text(options)))


def keygen(**options):
    """A new key file (JSON text) with one 32-byte key from os.urandom."""
    return _native.keygen(_options_text(options), _os.urandom(32))
