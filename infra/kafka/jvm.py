"""The broker JVM's flags: heap, GC, JIT and a class-data-sharing archive."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
from pathlib import Path

from infra.kafka.config import CONF_DIR
from infra.kafka.jars import java, libs_dir

MAIN_CLASS = "kafka.Kafka"
HEAP_OPTS = ("-Xms256m", "-Xmx768m")
JVM_OPTS = (
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
)
# C1 only by default: on a 2-core box C2 adds ~1.6 s to every start (3.6 s -> 5.2 s), and the test suite
# restarts the broker often. A broker under sustained load wants C2: with C1 only, at 20 sagas/s it used
# ~20 % more CPU than a warmed-up C2 broker. RV_KAFKA_JIT=full (set by `make run` and `make bench`) keeps
# the JVM's full tiered compilation. RV_KAFKA_JVM_OPTS is appended after all of these.
C1_ONLY = "-XX:TieredStopAtLevel=1"


def _cds_enabled() -> bool:
    return os.environ.get("RV_KAFKA_CDS", "1") != "0"


def _cds_paths(java_bin: str) -> tuple[Path, Path]:
    """(archive, pending archive), keyed by the java binary."""
    real = os.path.realpath(java_bin)
    st = Path(real).stat()
    key = hashlib.sha256(f"{real}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
    jsa = libs_dir() / f".kafka-{key[:12]}.jsa"
    return jsa, jsa.with_name(jsa.name + ".tmp")


def _cds_opts(java_bin: str) -> list[str]:
    """Class-data-sharing flags: use the archive, or record one (saves ~2 s/start).

    The archive is written by the JVM when it exits after SIGTERM and is only
    promoted by a clean stop(); a kill leaves none. Disable: RV_KAFKA_CDS=0.
    """
    if not _cds_enabled():
        return []
    jsa, pending = _cds_paths(java_bin)
    if jsa.is_file():
        return [f"-XX:SharedArchiveFile={jsa}"]
    pending.unlink(missing_ok=True)
    return [f"-XX:ArchiveClassesAtExit={pending}", "-Xlog:cds*=error"]


def settle_cds(*, clean_exit: bool) -> None:
    """Promote the class-data archive a cleanly stopped JVM wrote; drop a partial one."""
    if not _cds_enabled():
        return
    with contextlib.suppress(RuntimeError, OSError):
        jsa, pending = _cds_paths(java())
        if clean_exit and pending.is_file() and pending.stat().st_size > 0:
            pending.replace(jsa)
        else:
            pending.unlink(missing_ok=True)


def broker_command(props: Path, log_dir: Path) -> list[str]:
    """The command line of a broker running with ``props``, writing crash files into ``log_dir``."""
    java_bin = java()
    return [
        java_bin,
        *HEAP_OPTS,
        *JVM_OPTS,
        *([] if os.environ.get("RV_KAFKA_JIT", "c1") == "full" else [C1_ONLY]),
        *_cds_opts(java_bin),
        *shlex.split(os.environ.get("RV_KAFKA_JVM_OPTS", "")),
        f"-Dlog4j2.configurationFile={CONF_DIR / 'log4j2.yaml'}",
        f"-Dkafka.logs.dir={log_dir}",
        f"-XX:ErrorFile={log_dir}/kafka_hs_err_%p.log",
        "-cp",
        f"{libs_dir()}/*",
        MAIN_CLASS,
        str(props),
    ]
