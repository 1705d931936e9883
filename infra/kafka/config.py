"""Where the broker keeps its files, the ports it listens on, and its rendered ``server.properties``.

``<state>`` is ``$RV_STATE_DIR`` or ``<repo>/.local``::

    <state>/kafka/libs/              resolved jars (+ .resolved marker, class-data archive)
    <state>/kafka/data/              log.dirs (topic data and the KRaft metadata log)
    <state>/kafka/server.properties  rendered broker config
    <state>/kafka/cluster.id         cluster id used when formatting data/
    <state>/log/kafka.log            broker stdout/stderr (log4j2 writes to stdout)
    <state>/run/kafka.pid            broker pid

Ports: ``RV_KAFKA_PORT`` (default 19092) for clients, ``RV_KAFKA_CONTROLLER_PORT`` (default: the client
port + 1, so 19093) for the KRaft controller, ``RV_KAFKA_SASL_PORT`` (default: the client port + 2, so 19094) for
clients authenticating with SASL/SCRAM-SHA-256 (users are created through the Admin API).
"""

from __future__ import annotations

import base64
import os
import string
from pathlib import Path

from infra import state
from plumbing.services import DEFAULT_KAFKA_PORT

NAME = "kafka"
HOST = "127.0.0.1"
CONF_DIR = Path(__file__).resolve().parent.parent / "kafka_conf"


def broker_port() -> int:
    """The client (PLAINTEXT) port: ``$RV_KAFKA_PORT`` or 19092."""
    return state.env_port("RV_KAFKA_PORT", DEFAULT_KAFKA_PORT)


def controller_port() -> int:
    """The KRaft controller port: ``$RV_KAFKA_CONTROLLER_PORT``, or the client port + 1."""
    return state.env_port("RV_KAFKA_CONTROLLER_PORT", broker_port() + 1)


def sasl_port() -> int:
    """The SASL_PLAINTEXT (SCRAM-SHA-256) client port: ``$RV_KAFKA_SASL_PORT``, or the client port + 2."""
    return state.env_port("RV_KAFKA_SASL_PORT", broker_port() + 2)


def bootstrap_servers() -> str:
    """The bootstrap servers string, e.g. ``127.0.0.1:19092``."""
    return f"{HOST}:{broker_port()}"


def kafka_dir() -> Path:
    """``<state>/kafka``: jars, data and rendered config."""
    return state.state_dir() / NAME


def data_dir() -> Path:
    """``log.dirs``: topic data and the KRaft metadata log."""
    return kafka_dir() / "data"


def props_path() -> Path:
    """The rendered ``server.properties``."""
    return kafka_dir() / "server.properties"


def render() -> Path:
    """Write ``server.properties`` from ``kafka_conf/server.properties`` for the current ports; return it."""
    template = string.Template((CONF_DIR / "server.properties").read_text(encoding="utf-8"))
    text = template.substitute(
        broker_port=broker_port(),
        controller_port=controller_port(),
        sasl_port=sasl_port(),
        data_dir=str(data_dir()).replace("\\", "\\\\"),
    )
    state.write_atomically(props_path(), text)
    return props_path()


def cluster_id() -> str:
    """The id ``data/`` is formatted with: read from ``cluster.id``, created on first use.

    A random Kafka Uuid in its base64url form, as ``kafka-storage random-uuid`` makes it.
    """
    path = kafka_dir() / "cluster.id"
    try:
        if existing := path.read_text(encoding="utf-8").strip():
            return existing
    except FileNotFoundError:
        pass
    while True:
        raw = os.urandom(16)
        cid = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        if raw.strip(b"\0") and not cid.startswith("-"):
            break
    state.write_atomically(path, cid + "\n")
    return cid
