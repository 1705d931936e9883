"""``python -m plumbing.provision``'s arguments (the wheel's test runs it against the real stack)."""

from __future__ import annotations

import pytest

from plumbing.provision import main


def test_an_unknown_service_is_refused_in_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["migrate", "catalog", "inventory"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "python -m plumbing.provision: error: unknown service 'inventory': "
        "expected one of catalog, orders, payment, coordinator, gateway"
    )
