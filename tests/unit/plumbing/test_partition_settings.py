"""Partition counts are configuration like any other: a value that is not an integer >= 1 is one line naming its
variable, at a service's start and from ``python -m plumbing.provision`` (exit status 2, no traceback)."""

from __future__ import annotations

import os

import pytest

from contracts.topics import CATALOG_COMMANDS, PRODUCT_EVENTS, PartitionCountError, configured_partitions
from plumbing.configuration import ConfigurationError
from plumbing.provision import main
from plumbing.settings import ServiceSettings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("RV_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5", ""])
def test_a_count_that_is_not_a_positive_integer_is_refused(value: str) -> None:
    variable = "RV_TOPIC_PARTITIONS_CATALOG_PRODUCTS"
    with pytest.raises(PartitionCountError) as raised:
        configured_partitions(PRODUCT_EVENTS, {variable: value})
    assert str(raised.value) == f"{variable}={value!r}: expected an integer >= 1"
    with pytest.raises(PartitionCountError, match=r"^RV_TOPIC_PARTITIONS='0': "):
        configured_partitions(CATALOG_COMMANDS, {"RV_TOPIC_PARTITIONS": "0"})


def test_a_service_refuses_to_start_with_a_bad_topic_count(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_TOPIC_PARTITIONS_ORDERS_EVENTS", "0")
    with pytest.raises(ConfigurationError) as raised:
        ServiceSettings.from_env("orders")
    assert str(raised.value) == "RV_TOPIC_PARTITIONS_ORDERS_EVENTS='0': expected an integer >= 1"


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("RV_TOPIC_PARTITIONS_DEADLETTER", "none", "RV_TOPIC_PARTITIONS_DEADLETTER='none': expected an integer >= 1"),
        ("RV_KAFKA_SECURITY_PROTOCOL", "TLS", "RV_KAFKA_SECURITY_PROTOCOL='TLS': Input should be"),
    ],
)
def test_provisioning_reports_a_bad_value_in_one_line(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, line: str
) -> None:
    environment.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        main(["topics"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"configuration error: {line}") and error.count("\n") == 1


def test_migrating_reports_a_bad_database_url_in_one_line(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("RV_PAYMENT_DATABASE_URL", "")
    with pytest.raises(SystemExit) as exited:
        main(["migrate", "payment"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "configuration error: RV_PAYMENT_DATABASE_URL: String should have at least 1 character\n"
    )
