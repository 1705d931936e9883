"""Who an operator's action is recorded as: the gateway's subject, else the tool's ``X-Operator``, else ``direct``;
either header malformed is a 400 naming it."""

from __future__ import annotations

import pytest

from plumbing.actors import DIRECT, OPERATOR_HEADER, SUBJECT_HEADER, actor
from plumbing.http import FieldProblem


def test_the_gateways_subject_wins_then_the_tools_name_then_direct() -> None:
    assert actor("demo-operator", "cli:alice") == "demo-operator"
    assert actor(None, "cli:alice") == "cli:alice"
    assert actor(None, None) == DIRECT


@pytest.mark.parametrize(
    ("subject", "operator", "header"),
    [
        ("olga\nINFO forged", None, SUBJECT_HEADER),
        ("", None, SUBJECT_HEADER),
        ("x" * 81, None, SUBJECT_HEADER),
        ("<script>", "cli:alice", SUBJECT_HEADER),
        (None, "cli alice", OPERATOR_HEADER),
    ],
)
def test_a_malformed_name_is_a_400_naming_its_header(subject: str | None, operator: str | None, header: str) -> None:
    with pytest.raises(FieldProblem) as refused:
        actor(subject, operator)
    assert (refused.value.status_code, refused.value.field) == (400, header)
