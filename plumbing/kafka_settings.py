"""Where Kafka is and how to authenticate to it: the settings every Kafka client of ours is built from.

The security variables pass through to librdkafka (``security.protocol``, ``sasl.*``, ``ssl.*``), so a managed
Kafka (SASL/SCRAM, SASL/PLAIN, TLS, mutual TLS) needs no code; anything else librdkafka knows goes in
``RV_KAFKA_CLIENT_CONFIG`` as a JSON object, applied after our tuning; it may not set a key our delivery
guarantees rest on (``plumbing.kafka.GUARANTEE_KEYS``).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic.config import JsonDict

from plumbing.configuration import Settings
from plumbing.kafka import GUARANTEE_KEYS
from plumbing.services import DEFAULT_KAFKA_PORT

LOCAL_STACK: JsonDict = {"local_stack": True}
"""``json_schema_extra`` of a variable only the local stack's defaults use (listed apart in the docs)."""

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI"]
_NEEDS_CREDENTIALS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSettings(Settings):
    """The broker's address and the client security settings (librdkafka's names in the descriptions)."""

    kafka_port: int = Field(
        DEFAULT_KAFKA_PORT, ge=1, le=65535, description="the local broker's port", json_schema_extra=LOCAL_STACK
    )
    kafka_bootstrap: str = Field(
        default_factory=lambda data: f"127.0.0.1:{data['kafka_port']}",
        min_length=1,
        description="`bootstrap.servers`: comma-separated `host:port` list (default: the local broker)",
    )
    kafka_security_protocol: SecurityProtocol = Field("PLAINTEXT", description="`security.protocol`")
    kafka_sasl_mechanism: SaslMechanism | None = Field(None, description="`sasl.mechanism` (with a SASL protocol)")
    kafka_sasl_username: str | None = Field(None, description="`sasl.username`")
    kafka_sasl_password: SecretStr | None = Field(None, description="`sasl.password`")
    kafka_ssl_ca_location: str | None = Field(
        None, description="`ssl.ca.location`: CA certificate(s) file (PEM) to verify the broker with"
    )
    kafka_ssl_certificate_location: str | None = Field(
        None, description="`ssl.certificate.location`: client certificate (PEM), for mutual TLS"
    )
    kafka_ssl_key_location: str | None = Field(None, description="`ssl.key.location`: client private key (PEM)")
    kafka_ssl_key_password: SecretStr | None = Field(None, description="`ssl.key.password`")
    kafka_client_config: dict[str, str | int | bool] = Field(
        default_factory=dict,
        description='any other librdkafka property, as a JSON object (e.g. `{"client.rack": "eu-1a"}`), applied after'
        " ours; not one our delivery guarantees rest on: " + ", ".join(f"`{key}`" for key in sorted(GUARANTEE_KEYS)),
    )

    @model_validator(mode="after")
    def _guarantees_are_ours(self) -> Self:
        refused = sorted(GUARANTEE_KEYS.intersection(self.kafka_client_config))
        if refused:
            raise ValueError(f"RV_KAFKA_CLIENT_CONFIG may not set {refused[0]!r}: our delivery guarantees rest on it")
        return self

    @model_validator(mode="after")
    def _sasl_is_complete(self) -> Self:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and self.kafka_sasl_mechanism is None:
            raise ValueError(f"RV_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs RV_KAFKA_SASL_MECHANISM")
        credentials = bool(self.kafka_sasl_username) and self.kafka_sasl_password is not None
        if sasl and self.kafka_sasl_mechanism in _NEEDS_CREDENTIALS and not credentials:
            raise ValueError(
                f"RV_KAFKA_SASL_MECHANISM={self.kafka_sasl_mechanism} needs RV_KAFKA_SASL_USERNAME"
                " and RV_KAFKA_SASL_PASSWORD"
            )
        return self

    def kafka_client(self) -> dict[str, Any]:
        """The connection part of every producer's, consumer's and admin client's librdkafka configuration."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.kafka_bootstrap,
            "security.protocol": self.kafka_security_protocol,
        }
        optional: dict[str, str | None] = {
            "sasl.mechanism": self.kafka_sasl_mechanism,
            "sasl.username": self.kafka_sasl_username,
            "sasl.password": _reveal(self.kafka_sasl_password),
            "ssl.ca.location": self.kafka_ssl_ca_location,
            "ssl.certificate.location": self.kafka_ssl_certificate_location,
            "ssl.key.location": self.kafka_ssl_key_location,
            "ssl.key.password": _reveal(self.kafka_ssl_key_password),
        }
        config.update({key: value for key, value in optional.items() if value is not None})
        config.update(self.kafka_client_config)
        return config


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
