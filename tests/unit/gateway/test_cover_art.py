"""Generated cover art: deterministic, escaped, self-contained."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gateway.domain.cover_art import cover_svg


def test_the_same_game_always_gets_the_same_cover_and_another_game_other_colours() -> None:
    mario = cover_svg("Super Mario World", "SNES")
    assert mario == cover_svg("Super Mario World", "SNES")
    colours = set(re.findall(r"hsl\([^)]*\)", mario))
    assert len(colours) == 3
    assert colours != set(re.findall(r"hsl\([^)]*\)", cover_svg("Super Mario World", "NES")))


def test_the_cover_is_one_labelled_image_with_its_text_escaped_and_nothing_fetched() -> None:
    svg = cover_svg('The <script>alert("x")</script> & Co', "N64 & <more>")
    root = ET.fromstring(svg)  # well-formed: every text is escaped
    assert root.get("role") == "img"
    assert root.get("aria-label") == 'Cover art for The <script>alert("x")</script> & Co'
    assert "<script" not in svg
    assert "".join(root.itertext()).endswith("N64 & <more>")
    assert not re.search(r"href|url\(|@import|<image", svg)
    assert re.findall(r"https?://[^\"]+", svg) == ["http://www.w3.org/2000/svg"]


def test_a_long_title_wraps_into_at_most_four_lines() -> None:
    svg = cover_svg("The Very Long Title Of A Game That Goes On And On Forever And Ever", "PC")
    root = ET.fromstring(svg)
    lines = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")][:-1]
    assert len(lines) == 4
    assert all(line is not None and len(line) <= 16 for line in lines)
    assert lines[-1] is not None and lines[-1].endswith("…")
