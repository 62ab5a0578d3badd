# Types of the Python package oncelink (docs/sdk-python.md).
from typing import Any, Dict, Literal, Optional, TypedDict, Union

__all__ = ["Error", "mint", "link", "verify", "inspect", "keygen"]

Keys = Union[str, Dict[str, Any]]

class Error(Exception):
    """A refusal with a stable reason code; never carries a secret."""

    reason: str
    message: str
    def __init__(self, reason: str, message: str) -> None: ...

class Claims(TypedDict, total=False):
    id: str
    p: str
    exp: int
    nbf: int
    n: int
    r: str
    ip: str
    fn: str
    g: int
    m: Literal["page", "direct"]
    pw: str
    b: bool

def mint(
    keys: Keys,
    *,
    path: str,
    uses: Optional[int] = None,
    ttl: Union[int, str, None] = None,
    exp: Optional[int] = None,
    nbf: Optional[int] = None,
    ip: Optional[str] = None,
    filename: Optional[str] = None,
    region: Optional[str] = None,
    grace: Optional[int] = None,
    mode: Optional[Literal["page", "direct"]] = None,
    password: Optional[str] = None,
    bind: Optional[bool] = None,
    lock_after: Optional[int] = None,
    ref: Optional[str] = None,
    id: Optional[str] = None,
    now: Optional[float] = None,
) -> str: ...
def link(base_url: str, path: str, token: str, *, param: Optional[str] = None) -> str: ...
def verify(
    keys: Keys,
    token_or_url: str,
    *,
    path: Optional[str] = None,
    ip: Optional[str] = None,
    now: Optional[float] = None,
    skew: Optional[int] = None,
    param: Optional[str] = None,
) -> Dict[str, Any]: ...
def inspect(token_or_url: str, *, param: Optional[str] = None) -> Dict[str, Any]: ...
def keygen(*, kid: Optional[str] = None) -> str: ...
