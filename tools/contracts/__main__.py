"""``python -m tools.contracts generate|check|compat``: write, verify and compare the generated contract artefacts.

- ``generate`` writes ``contracts/generated/`` (the JSON Schemas and ``asyncapi.json``) from the code.
- ``check`` fails, one line per problem, if the committed artefacts differ from what the code generates.
- ``compat`` fails if a schema changed incompatibly since the last release snapshot without a version bump.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.contracts.asyncapi import generate_asyncapi
from tools.contracts.compat import check_against, latest_release
from tools.contracts.schemas import GENERATED_DIR, REGENERATE, display_path, dumps, generate_schemas

ASYNCAPI_FILE = "asyncapi.json"
SCHEMAS_SUBDIR = "schemas"


def artefacts() -> dict[str, str]:
    """Path (relative to ``contracts/generated/``) -> exact file content, for every generated artefact."""
    files = {f"{SCHEMAS_SUBDIR}/{name}": dumps(document) for name, document in generate_schemas().items()}
    files[ASYNCAPI_FILE] = dumps(generate_asyncapi())
    return dict(sorted(files.items()))


def generate(root: Path = GENERATED_DIR) -> list[str]:
    """Write every artefact under ``root`` and delete stale schema files; returns the paths that changed."""
    expected = artefacts()
    changed: list[str] = []
    for relative, content in expected.items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            changed.append(relative)
    for stale in _stale(root, expected):
        (root / stale).unlink()
        changed.append(stale)
    return changed


def check(root: Path = GENERATED_DIR) -> list[str]:
    """One line per committed artefact that is missing, out of date or stale; [] when all are up to date."""
    expected = artefacts()
    where = display_path(root)
    problems: list[str] = []
    for relative, content in expected.items():
        path = root / relative
        if not path.is_file():
            problems.append(f"{where}/{relative} is missing; run `{REGENERATE}`")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{where}/{relative} is out of date with the code; run `{REGENERATE}`")
    problems.extend(
        f"{where}/{stale} is no longer generated (stale); run `{REGENERATE}`" for stale in _stale(root, expected)
    )
    return problems


def _stale(root: Path, expected: dict[str, str]) -> list[str]:
    schemas = root / SCHEMAS_SUBDIR
    if not schemas.is_dir():
        return []
    present = [f"{SCHEMAS_SUBDIR}/{path.name}" for path in sorted(schemas.glob("*.json"))]
    return [relative for relative in present if relative not in expected]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``argv`` defaults to the command line); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.contracts", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("generate", "write contracts/generated/ from the code"),
        ("check", "fail if contracts/generated/ differs from what the code generates"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--root", type=Path, default=GENERATED_DIR, help="default: contracts/generated")
    compat = commands.add_parser("compat", help="fail on a breaking schema change without a version bump")
    compat.add_argument(
        "--baseline", type=Path, help="a release snapshot directory (default: the newest contracts/released/v<N>)"
    )
    compat.add_argument("-v", "--verbose", action="store_true", help="also print compatible changes")
    args = parser.parse_args(argv)

    if args.command == "generate":
        changed = generate(args.root)
        for relative in changed:
            print(f"updated {display_path(args.root)}/{relative}")
        print(f"{len(changed)} file(s) changed" if changed else f"{display_path(args.root)} was already up to date")
        return 0
    if args.command == "check":
        problems = check(args.root)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    try:
        baseline: Path = args.baseline or latest_release()
        if not baseline.is_dir():
            raise FileNotFoundError(f"no such baseline directory: {baseline}")
    except FileNotFoundError as missing:
        print(missing, file=sys.stderr)
        return 2
    report = check_against(baseline, generate_schemas())
    for error in report.errors:
        print(error, file=sys.stderr)
    if args.verbose or report.errors:
        for note in report.notes:
            print(f"note: {note}")
    if report.ok:
        print(f"compatible with {display_path(baseline)}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
