#!/usr/bin/env bash
# `make test-containers`: the Docker engine and Compose (engine.sh), the base images, the project's images, then
# tests/containers (compose.yaml up, a kill of one container of each service under load, the invariants, down
# with its volumes). dockerd is stopped again at the end if this started it; images stay cached.
# RV_BASE_IMAGES=official uses the official python, postgres and apache/kafka images (a machine that reaches
# Docker Hub); otherwise local substitutes are built from Debian packages (images.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's docker.io has no buildx plugin: its classic builder handles these Dockerfiles.
export DOCKER_BUILDKIT=0 COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-rv-container-test}
PY=.venv/bin/python
STATE=${RV_CONTAINERS_DIR:-$PWD/.local/containers}
mkdir -p "$STATE"

step() {
    local started=$SECONDS
    echo "==> $1"
    shift
    "$@"
    echo "    ($((SECONDS - started)) s)"
}

trap 'bash containers/engine.sh stop' EXIT
step "docker engine and compose" bash containers/engine.sh start
if [ "${RV_BASE_IMAGES:-local}" != official ]; then
    step "local base images (containers/images.sh)" bash containers/images.sh
    set -a && . "$STATE/images.env" && set +a
fi
base=${RV_PYTHON_IMAGE:-python:3.11-slim-bookworm}
build() { docker build --quiet --force-rm --build-arg "BASE_IMAGE=$base" "$@" >/dev/null; }
# The builder stage gets a name of its own, so that dropping the images earlier builds left untagged keeps the
# layer cache of the dependencies' wheels.
project_image() { build --target builder -t retrovault-builder:local . && build -t retrovault:local .; }
step "image retrovault:local (base $base)" project_image
step "image retrovault-localstripe:local" build -t retrovault-localstripe:local -f containers/localstripe/Dockerfile .
docker image prune --force >/dev/null
echo "    retrovault:local is $(($(docker image inspect --format '{{.Size}}' retrovault:local) / 1000000)) MB"
step "tests/containers" "$PY" -m pytest tests/containers -p no:cacheprovider ${PYTEST_ARGS:-}
