"""A real single-node Apache Kafka 4.x broker (KRaft, combined broker and controller), a
:class:`infra.component.Component`.

No Docker: ``jars`` resolves the broker's jars from Maven Central, ``config`` says where its files are and
renders its properties, ``jvm`` chooses the JVM flags, ``probe`` asks a port whether Kafka answers, and
``broker`` formats the storage and runs the detached ``java`` process, listening on 127.0.0.1 only.
CLI: ``python -m infra.kafka start|stop|kill|status``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from infra.kafka.broker import is_running, kill, pid, running_jit, start, stop
from infra.kafka.config import NAME, bootstrap_servers, kafka_dir

__all__ = ["bootstrap_servers", "is_running", "kill", "name", "pid", "running_jit", "start", "state_dir", "stop"]

name: Final = NAME


def state_dir() -> Path:
    """``<state>/kafka``: the jars, topic data, KRaft metadata and rendered config."""
    return kafka_dir()
