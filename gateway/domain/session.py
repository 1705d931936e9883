"""The browser session's rules: where a login may send people back to, and which browser requests come from
the gateway's own pages (CSRF)."""

from __future__ import annotations

from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HOME = "/"


def local_path(wanted: str | None) -> str:
    """``wanted`` if it is a path on this site (``/…``, no scheme, no host, no backslash), else ``/``.

    Refused: ``//host`` and ``/\\host`` (browsers read both as another host), any scheme, control characters.
    """
    if not wanted or not wanted.startswith("/") or wanted.startswith("//"):
        return HOME
    if "\\" in wanted or any(ord(c) < 0x20 or ord(c) == 0x7F for c in wanted):
        return HOME
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc:
        return HOME
    return wanted


def same_origin(method: str, host: str | None, origin: str | None, referer: str | None) -> bool:
    """Whether a browser's request may go on: safe methods always; unsafe ones only when their
    ``Origin`` (else ``Referer``) names the host the request was sent to. Neither header: refused."""
    if method.upper() in SAFE_METHODS:
        return True
    source = origin if origin and origin != "null" else referer
    if not source or not host:
        return False
    parts = urlsplit(source)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()
