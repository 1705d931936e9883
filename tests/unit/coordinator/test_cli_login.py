"""``retrovault login``'s session file: owner-only, read back exactly, an expired or broken one a one-line error."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from coordinator.entrypoints import cli_login
from coordinator.entrypoints.cli_http import CliError

SESSION = cli_login.Session("http://127.0.0.1:8100", "demo-operator", "header.payload.signature", 2_000_000_000.0)


def test_a_saved_session_is_read_back_and_only_its_owner_may_read_it(tmp_path: Path) -> None:
    path = tmp_path / "config" / "retrovault" / "session.json"
    cli_login.save(path, SESSION)
    assert cli_login.load(path) == SESSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["session.json"]


def test_no_session_file_means_not_logged_in(tmp_path: Path) -> None:
    assert cli_login.current(tmp_path / "missing.json") is None
    assert cli_login.forget(tmp_path / "missing.json") is False


def test_an_expired_session_says_how_to_log_in_again(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    cli_login.save(path, cli_login.Session(SESSION.gateway, SESSION.subject, SESSION.token, time.time() - 1))
    with pytest.raises(CliError) as raised:
        cli_login.current(path)
    assert str(raised.value) == (
        "the login of demo-operator at http://127.0.0.1:8100 has expired: run `retrovault login`"
    )


def test_a_broken_session_file_is_one_line_naming_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text('{"gateway": "http://x"}')
    with pytest.raises(CliError) as raised:
        cli_login.load(path)
    assert str(raised.value).startswith(f"cannot read the login session {path}: ")
    assert str(raised.value).endswith("; run `retrovault logout`") and "\n" not in str(raised.value)


def test_logout_removes_the_session(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    cli_login.save(path, SESSION)
    assert cli_login.forget(path) is True
    assert not path.exists()
