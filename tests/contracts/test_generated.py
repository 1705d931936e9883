"""The committed artefacts in contracts/generated/ are exactly what the code generates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.contracts.__main__ import artefacts, check, generate, main
from tools.contracts.schemas import GENERATED_DIR, REGENERATE, RELEASED_DIR, generate_schemas


def test_committed_artefacts_are_up_to_date() -> None:
    problems = check()
    assert not problems, "\n".join([*problems, f"contracts/generated/ is stale: run `{REGENERATE}` and commit it"])


def test_the_check_command_passes() -> None:
    assert main(["check"]) == 0


def test_generation_is_deterministic() -> None:
    assert artefacts() == artefacts()


def test_every_artefact_is_sorted_json_with_a_trailing_newline() -> None:
    for relative, content in artefacts().items():
        document = json.loads(content)
        assert content == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", relative


def test_check_names_each_problem_and_the_command_to_fix_it(tmp_path: Path) -> None:
    root = tmp_path / "generated"
    shutil.copytree(GENERATED_DIR, root)
    (root / "schemas" / "ReserveStock.v1.json").write_text("{}\n", encoding="utf-8")
    (root / "schemas" / "StockReleased.v1.json").unlink()
    (root / "schemas" / "ReserveStock.v0.json").write_text("{}\n", encoding="utf-8")

    problems = check(root)

    assert len(problems) == 3
    assert all(problem.endswith(f"run `{REGENERATE}`") for problem in problems)
    assert any("schemas/ReserveStock.v1.json is out of date" in problem for problem in problems)
    assert any("schemas/StockReleased.v1.json is missing" in problem for problem in problems)
    assert any("schemas/ReserveStock.v0.json is no longer generated" in problem for problem in problems)

    assert sorted(generate(root)) == [
        "schemas/ReserveStock.v0.json",
        "schemas/ReserveStock.v1.json",
        "schemas/StockReleased.v1.json",
    ]
    assert check(root) == []
    assert generate(root) == []


def test_the_check_command_fails_with_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "generated"
    shutil.copytree(GENERATED_DIR, root)
    (root / "asyncapi.json").write_text("{}\n", encoding="utf-8")

    assert main(["check", "--root", str(root)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f"asyncapi.json is out of date with the code; run `{REGENERATE}`")

    assert main(["generate", "--root", str(root)]) == 0
    assert main(["check", "--root", str(root)]) == 0


def test_every_schema_names_its_type_and_version() -> None:
    for file_name, document in generate_schemas().items():
        assert file_name == f"{document['x-name']}.v{document['x-schema-version']}.json"
        assert document["$ref"] == f"#/$defs/{document['x-name']}"


def test_the_released_baseline_has_only_schema_files() -> None:
    for release in (p for p in RELEASED_DIR.iterdir() if p.is_dir()):
        for path in release.iterdir():
            assert path.suffix == ".json", f"{path}: a release snapshot holds only <Type>.v<N>.json files"
