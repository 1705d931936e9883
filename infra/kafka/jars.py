"""The broker's jars, resolved from Maven Central with ``kafka_conf/pom.xml``, and running Java with them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from infra.kafka.config import CONF_DIR, kafka_dir

POM = CONF_DIR / "pom.xml"


def libs_dir() -> Path:
    """``<state>/kafka/libs``: the resolved jars."""
    return kafka_dir() / "libs"


def classpath() -> str:
    """The java ``-cp`` value for the resolved jars."""
    return f"{libs_dir()}/*"


def java() -> str:
    """The ``java`` of ``$JAVA_HOME``, else the one on PATH."""
    candidate = Path(os.environ.get("JAVA_HOME", "/nonexistent")) / "bin" / "java"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("java")
    if not found:
        raise RuntimeError("java not found (install a JDK 17+ or set JAVA_HOME)")
    return found


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _installed(libs: Path) -> bool:
    try:
        marker = (libs / ".resolved").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return False
    return marker == _pom_digest() and any(libs.glob("kafka_2.13-*.jar")) and any(libs.glob("log4j-core-*.jar"))


def install() -> Path:
    """Resolve the jars into ``<state>/kafka/libs`` unless the pom's are there; return that directory.

    The caller holds the broker's lock.
    """
    libs = libs_dir()
    if _installed(libs):
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError("mvn not found: Maven is needed to resolve the Kafka jars")
    tmp = libs.with_name("libs.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"]
    proc = subprocess.run([*cmd, "-f", str(POM)], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
        out = (proc.stdout + proc.stderr).strip().splitlines()[-20:]
        raise RuntimeError(f"resolving Kafka jars failed (mvn exit {proc.returncode})\n" + "\n".join(out))
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    (libs / ".resolved").write_text(_pom_digest() + "\n", encoding="utf-8")
    return libs


def run_tool(main_class: str, args: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a Kafka tool's main class (e.g. ``kafka.tools.StorageTool``) from the jars, capturing its output."""
    log4j = f"-Dlog4j2.configurationFile={CONF_DIR / 'tools-log4j2.yaml'}"
    return subprocess.run(
        [java(), "-Xmx256m", "-Djava.awt.headless=true", log4j, "-cp", classpath(), main_class, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
