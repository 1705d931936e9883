"""Generated cover art: a deterministic SVG for a game from its title and platform (nothing is fetched)."""

from __future__ import annotations

import hashlib
from html import escape

WIDTH, HEIGHT = 240, 320
_MAX_LINE = 16
_MAX_LINES = 4


def _colour(digest: bytes, at: int, lightness: int) -> str:
    hue = int.from_bytes(digest[at : at + 2], "big") % 360
    return f"hsl({hue}, 65%, {lightness}%)"


def _lines(title: str) -> list[str]:
    """The title in lines of at most ``_MAX_LINE`` characters (by words), at most ``_MAX_LINES`` of them."""
    lines: list[str] = []
    for word in title.split():
        if lines and len(lines[-1]) + 1 + len(word) <= _MAX_LINE:
            lines[-1] += " " + word
        else:
            lines.append(word[:_MAX_LINE])
    if len(lines) > _MAX_LINES:
        lines = [*lines[: _MAX_LINES - 1], lines[_MAX_LINES - 1][: _MAX_LINE - 1] + "…"]
    return lines or [""]


def cover_svg(title: str, platform: str) -> str:
    """The cover for ``title`` on ``platform``: the same arguments always give the same SVG.

    Colours come from a hash of both; every text is escaped. The root is ``role="img"`` labelled
    "Cover art for {title}"; the text is decorative (``aria-hidden``) since the label says it.
    """
    digest = hashlib.sha256(f"{platform}\n{title}".encode()).digest()
    back, band, stripe = _colour(digest, 0, 22), _colour(digest, 2, 45), _colour(digest, 4, 60)
    angle = digest[6] % 60 - 30
    lines = _lines(title)
    top = 150 - 14 * (len(lines) - 1)
    texts = "".join(
        f'<text x="120" y="{top + 28 * n}" text-anchor="middle" font-size="20" font-weight="bold" '
        f'font-family="sans-serif" fill="#fff">{escape(line)}</text>'
        for n, line in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="Cover art for {escape(title)}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="{back}"/>'
        f'<rect x="-60" y="90" width="360" height="140" fill="{band}" transform="rotate({angle} 120 160)"/>'
        f'<rect x="0" y="270" width="{WIDTH}" height="50" fill="{stripe}"/>'
        f'<g aria-hidden="true">{texts}'
        f'<text x="120" y="302" text-anchor="middle" font-size="18" font-family="monospace" fill="#111">'
        f"{escape(platform)}</text></g></svg>"
    )
