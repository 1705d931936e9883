#!/usr/bin/env bash
# Local substitutes for the official images, for machines that reach no image registry: a Debian base made
# with debootstrap (carrying this machine's extra CA certificates), and on it python, postgres and kafka
# images that honour the official images' environment contracts (see containers/README.md).
# The debootstrap tarball is cached in $RV_CONTAINERS_DIR (default .local/containers); Docker's layer cache
# keeps the rest. Writes the variables that make compose.yaml use them to $RV_CONTAINERS_DIR/images.env.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${RV_CONTAINERS_DIR:-$PWD/.local/containers}
SUITE=bookworm
BASE=rv-local/debian:$SUITE
mkdir -p "$STATE"

# The Debian mirror this machine's apt uses (never written into a file of the project).
debian_mirror() {
    local uri
    uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / '"$SUITE"'( |$)/ {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "'"$SUITE"'" {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
    [ -n "$uri" ] || { echo "no Debian $SUITE mirror in the apt sources" >&2; return 1; }
    echo "$uri"
}

base_image() {
    docker image inspect "$BASE" >/dev/null 2>&1 && return 0
    local tarball=$STATE/debian-$SUITE.tar
    if [ ! -s "$tarball" ]; then
        command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
        local root=$STATE/rootfs
        rm -rf "$root"
        debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$(debian_mirror)" >"$STATE/debootstrap.log"
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
        chroot "$root" update-ca-certificates >/dev/null
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$root"
    fi
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
}

# Kafka's jars as the local stack resolves them (infra/kafka/jars.py), staged with the image's own files.
kafka_context() {
    local context=$STATE/kafka-context
    local libs
    libs=$(.venv/bin/python -c 'from infra import state; from infra.kafka import jars
with state.locked("kafka"): print(jars.install())')
    rm -rf "$context" && mkdir -p "$context"
    cp -l "$libs"/*.jar "$context/" 2>/dev/null || cp "$libs"/*.jar "$context/"
    cp containers/kafka/* infra/kafka_conf/log4j2.yaml infra/kafka_conf/tools-log4j2.yaml "$context/"
    echo "$context"
}

base_image
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' infra/kafka_conf/pom.xml)
docker build -q --force-rm -t rv-local/python:3.11-$SUITE -f containers/python/Dockerfile containers/python >/dev/null
docker build -q --force-rm -t rv-local/postgres:15-$SUITE -f containers/postgres/Dockerfile containers/postgres >/dev/null
docker build -q --force-rm -t "rv-local/kafka:$KAFKA_VERSION" -f containers/kafka/Dockerfile "$(kafka_context)" >/dev/null
cat <<VARS | tee "$STATE/images.env"
RV_PYTHON_IMAGE=rv-local/python:3.11-$SUITE
RV_POSTGRES_IMAGE=rv-local/postgres:15-$SUITE
RV_KAFKA_IMAGE=rv-local/kafka:$KAFKA_VERSION
VARS
