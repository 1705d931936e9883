"""docs/configuration.md is generated from the settings classes: every variable any of them reads is in it, and
``check`` fails while the committed file differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.entrypoints.cli_settings import CliSettings
from plumbing.configuration import Settings
from tools import configuration


def test_every_variable_of_every_settings_class_is_documented() -> None:
    text = configuration.OUT.read_text()
    classes: list[type[Settings]] = [*configuration.service_classes().values(), CliSettings]
    for settings in classes:
        for name in settings.model_fields:
            assert f"| `{settings.variable(name)}` |" in text, settings.variable(name)


def test_check_fails_on_a_stale_document(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(configuration, "OUT", tmp_path / "configuration.md")
    assert configuration.main(["check"]) == 1
    assert "run `python -m tools.configuration generate`" in capsys.readouterr().err
    assert configuration.main(["generate"]) == 0
    assert configuration.main(["check"]) == 0
    (tmp_path / "configuration.md").write_text(configuration.document().replace("`500`", "`400`"))
    assert configuration.main(["check"]) == 1
