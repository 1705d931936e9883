"""Compatibility of the current JSON Schemas with the last released ones (the rules are in docs/contracts.md).

A change is breaking when a reader built from the new schema could reject, or misread, a message written
against the old one: a field removed, a field's type changed, a required field added without a default, a
constraint narrowed (a lower maximum, a higher minimum, a new or changed pattern or format, fewer enum
values, unknown fields newly forbidden). Adding an optional field (one with a default), widening a
constraint and adding a message type are compatible. A breaking change needs a new ``schema_version``
(a new ``<Type>.v<N+1>.json``) while the previous version's schema stays in ``contracts/released/``, and the
previous version must stay decodable: a retired class in ``contracts/retired/`` generates its
``<Type>.v<N>.json`` again, which must be unchanged from the released one. The envelope is the exception: its
version is not on the wire, so there is no retired envelope, and its bump is a note (it needs a migration plan).

The schema-against-schema comparison is in ``schema_diff.py`` (and the per-keyword checks in ``keywords.py``);
this module applies it release by release: which versions must still match, which were bumped, which are new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tools.contracts.schema_diff import schema_changes
from tools.contracts.schemas import (
    ENVELOPE_NAME,
    RELEASED_DIR,
    JsonSchema,
    display_path,
    load_schema_dir,
    parse_file_name,
)

__all__ = [
    "CompatReport",
    "breaking",
    "check_against",
    "check_compat",
    "latest_release",
    "not_decodable",
    "schema_changes",
]


@dataclass
class CompatReport:
    """What ``check_compat`` found: ``errors`` fail the check, ``notes`` are for information."""

    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No breaking change without a version bump."""
        return not self.errors


def breaking(subject: str, change: str, *, retired: bool = False) -> str:
    """The one-line message for a breaking change, e.g. ``ReserveStock v1: field 'lines' removed (...)``.

    ``retired``: the subject is a retired version, which must keep its released shape (a bump cannot help).
    """
    if retired:
        remedy = "a retired version must keep its released shape"
    elif subject.startswith(f"{ENVELOPE_NAME} "):
        remedy = "bump ENVELOPE_SCHEMA_VERSION"
    else:
        remedy = "bump schema_version"
    return f"{subject}: {change} (breaking; {remedy})"


def not_decodable(name: str, version: int, current: int) -> str:
    """The message for a released version that was bumped away without a retired class to read it."""
    return (
        f"{name} v{version}: no longer decodable: bumped to v{current} without a retired {name} v{version} "
        "(add one with upgrade() to contracts/retired/)"
    )


def check_compat(
    current: Mapping[str, JsonSchema], released: Mapping[str, JsonSchema], *, baseline: str = "the baseline"
) -> CompatReport:
    """Check the current schemas (file name -> document) against the released ones (same shape)."""
    report = CompatReport()
    now, before = _by_name(current), _by_name(released)
    for name, versions in before.items():
        for version, old in versions.items():
            subject = f"{name} v{version}"
            if name not in now:
                report.errors.append(breaking(subject, f"message type removed (it is in {baseline})"))
                continue
            latest = max(now[name])  # lower versions in the current schemas are retired ones, still decoded
            if version in now[name]:
                retired = version < latest
                changes = schema_changes(old, now[name][version])
                report.errors.extend(breaking(subject, change, retired=retired) for change in changes)
            elif latest < version:
                report.errors.append(f"{subject}: schema_version went back to v{latest} (it is in {baseline})")
            elif version < max(versions):  # already retired in the baseline: ending its retention is a choice
                report.notes.append(f"{subject}: retired version dropped (it is no longer decoded)")
            elif name != ENVELOPE_NAME:  # the envelope's version is not on the wire: there is no retired envelope
                report.errors.append(not_decodable(name, version, latest))
    for name, versions in now.items():
        for version, new in versions.items():
            if version in before.get(name, {}):
                continue
            earlier = [v for v in before.get(name, {}) if v < version]
            if not earlier:
                if version == 1:
                    report.notes.append(f"{name} v1: new message type")
                elif name in before or 1 not in versions:  # else: a new type, bumped since (its v1 is still read)
                    report.errors.append(
                        f"{name} v{version}: no earlier version of {name} is in {baseline}; a bumped message keeps "
                        "its previous schema in contracts/released/ (a new message type starts at v1)"
                    )
                continue
            previous = max(earlier)
            changes = schema_changes(before[name][previous], new)
            summary = "; ".join(changes) if changes else "none (the bump was not needed)"
            if name == ENVELOPE_NAME:
                summary += f" (not on the wire: every envelope is now read as v{version}; needs a migration plan)"
            report.notes.append(f"{name} v{previous} -> v{version}: version bumped; breaking changes: {summary}")
    return report


def latest_release(released_dir: Path = RELEASED_DIR) -> Path:
    """The newest release snapshot (``contracts/released/v<N>`` with the highest N)."""
    releases = [p for p in released_dir.iterdir() if p.is_dir() and re.fullmatch(r"v\d+", p.name)]
    if not releases:
        raise FileNotFoundError(f"no release snapshot (v<N>/) in {released_dir}")
    return max(releases, key=lambda p: int(p.name[1:]))


def check_against(baseline_dir: Path, current: Mapping[str, JsonSchema]) -> CompatReport:
    """``check_compat`` against the schema files of one release snapshot directory."""
    return check_compat(current, load_schema_dir(baseline_dir), baseline=display_path(baseline_dir))


def _by_name(documents: Mapping[str, JsonSchema]) -> dict[str, dict[int, JsonSchema]]:
    grouped: dict[str, dict[int, JsonSchema]] = {}
    for file_name, document in documents.items():
        name, version = parse_file_name(file_name)
        grouped.setdefault(name, {})[version] = document
    return grouped
