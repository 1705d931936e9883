"""Settings come from the environment typed and checked: defaults that fit the local stack, one line naming the
variable and the expected form for a value that does not fit, Kafka's security settings passed to librdkafka."""

from __future__ import annotations

import os

import pytest

from catalog.settings import CatalogSettings
from coordinator.settings import CoordinatorSettings
from plumbing.configuration import ConfigurationError
from plumbing.kafka import consumer_config, producer_config
from plumbing.kafka_settings import KafkaSettings
from plumbing.settings import ServiceSettings

SCRAM = {
    "RV_KAFKA_BOOTSTRAP": "kafka-1.example:9096,kafka-2.example:9096",
    "RV_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "RV_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "RV_KAFKA_SASL_USERNAME": "retrovault",
    "RV_KAFKA_SASL_PASSWORD": "s3cret",
    "RV_KAFKA_SSL_CA_LOCATION": "/etc/kafka/ca.pem",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without any ``RV_`` variable of the developer's or the stack's."""
    for name in list(os.environ):
        if name.startswith(("RV_", "OTEL_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_defaults_are_the_local_stack(environment: pytest.MonkeyPatch) -> None:
    settings = CatalogSettings.load()
    assert (settings.http_host, settings.http_port, settings.batch_size, settings.poll_timeout_s) == (
        "127.0.0.1",
        8101,
        500,
        0.05,
    )
    assert settings.database_url == "postgresql+psycopg://catalog:catalog@127.0.0.1:55432/catalog"
    assert settings.kafka_client() == {"bootstrap.servers": "127.0.0.1:19092", "security.protocol": "PLAINTEXT"}


def test_local_ports_move_the_defaults_and_explicit_addresses_win(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_PG_PORT", "24432")
    environment.setenv("RV_KAFKA_PORT", "24092")
    assert CatalogSettings.load().database_url.endswith("@127.0.0.1:24432/catalog")
    assert CatalogSettings.load().kafka_bootstrap == "127.0.0.1:24092"
    environment.setenv("RV_CATALOG_DATABASE_URL", "postgresql+psycopg://u:p@db.example:5432/catalog")
    environment.setenv("RV_KAFKA_BOOTSTRAP", "kafka.example:9092")
    settings = CatalogSettings.load()
    assert (settings.database_url, settings.kafka_bootstrap) == (
        "postgresql+psycopg://u:p@db.example:5432/catalog",
        "kafka.example:9092",
    )


def test_the_shared_settings_of_a_service_by_name_are_its_own(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_COORDINATOR_PORT", "9104")
    by_name = ServiceSettings.from_env("coordinator")
    own = CoordinatorSettings.load()
    assert (by_name.service, by_name.http_port, by_name.database_url) == ("coordinator", 9104, own.database_url)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RV_BATCH_SIZE", "lots", "RV_BATCH_SIZE='lots': Input should be a valid integer, unable to parse string"),
        ("RV_BATCH_SIZE", "0", "RV_BATCH_SIZE='0': Input should be greater than or equal to 1"),
        ("RV_CATALOG_PORT", "70000", "RV_CATALOG_PORT='70000': Input should be less than or equal to 65535"),
        ("RV_LOG_FORMAT", "xml", "RV_LOG_FORMAT='xml': Input should be 'json' or 'text'"),
        ("RV_KAFKA_SECURITY_PROTOCOL", "TLS", "RV_KAFKA_SECURITY_PROTOCOL='TLS': Input should be 'PLAINTEXT', 'SSL'"),
        ("RV_KAFKA_CLIENT_CONFIG", "client.rack=a", "RV_KAFKA_CLIENT_CONFIG: expected JSON"),
        ("RV_SAGA_CHARGE_BUDGET_S", "-1", "RV_SAGA_CHARGE_BUDGET_S='-1': Input should be greater than 0"),
    ],
)
def test_a_value_that_does_not_fit_is_one_line_naming_the_variable(
    environment: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    environment.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        CoordinatorSettings.load() if name.startswith("RV_SAGA") else CatalogSettings.load()
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_a_secret_is_never_shown(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    environment.setenv("RV_KAFKA_SASL_MECHANISM", "PLAIN")
    environment.setenv("RV_KAFKA_SASL_PASSWORD", "hunter2")
    with pytest.raises(ConfigurationError, match="needs RV_KAFKA_SASL_USERNAME and RV_KAFKA_SASL_PASSWORD") as raised:
        KafkaSettings.load()
    assert "hunter2" not in str(raised.value)
    environment.setenv("RV_KAFKA_SASL_USERNAME", "me")
    assert "hunter2" not in repr(KafkaSettings.load())


def test_a_database_url_is_never_shown(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_CATALOG_DATABASE_URL", "")  # a URL carries its role's password: no value is echoed
    with pytest.raises(ConfigurationError) as raised:
        CatalogSettings.load()
    assert str(raised.value) == "RV_CATALOG_DATABASE_URL: String should have at least 1 character"


def test_a_sasl_protocol_needs_a_mechanism(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("RV_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    with pytest.raises(
        ConfigurationError, match=r"^RV_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs RV_KAFKA_SASL_MECHANISM$"
    ):
        KafkaSettings.load()


def test_security_settings_reach_every_client(environment: pytest.MonkeyPatch) -> None:
    for name, value in {**SCRAM, "RV_KAFKA_CLIENT_CONFIG": '{"client.rack": "eu-1a", "linger.ms": 20}'}.items():
        environment.setenv(name, value)
    client = KafkaSettings.load().kafka_client()
    assert client == {
        "bootstrap.servers": "kafka-1.example:9096,kafka-2.example:9096",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "retrovault",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/kafka/ca.pem",
        "client.rack": "eu-1a",
        "linger.ms": 20,
    }
    producer, consumer = producer_config(client, "p"), consumer_config(client, "catalog", "1")
    for config in (producer, consumer):
        assert {key: config[key] for key in client} == client
    assert producer["linger.ms"] == 20  # the operator's pass-through comes last
