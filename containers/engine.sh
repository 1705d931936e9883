#!/usr/bin/env bash
# The Docker engine and Compose v2 for the container test, installed and started by the project itself.
#   containers/engine.sh start   install docker.io if missing, start dockerd if none answers (noting that it
#                                did, in $RV_CONTAINERS_DIR/dockerd.started), build the Compose plugin if missing
#   containers/engine.sh stop    stop dockerd again, only if `start` started it
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${RV_CONTAINERS_DIR:-$PWD/.local/containers}
COMPOSE_VERSION=v5.6.0
PLUGIN=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose
mkdir -p "$STATE"

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
    if ! engine_answers; then
        dockerd >"$STATE/dockerd.log" 2>&1 &
        echo $! >"$STATE/dockerd.started"
        local deadline=$((SECONDS + 60))
        until engine_answers; do
            if ((SECONDS > deadline)) || ! kill -0 "$(cat "$STATE/dockerd.started")" 2>/dev/null; then
                echo "dockerd did not start; its log:" >&2 && tail -20 "$STATE/dockerd.log" >&2 && exit 1
            fi
            sleep 0.2 # poll interval; the deadline above bounds the wait
        done
    fi
    if ! docker compose version >/dev/null 2>&1; then
        # `go install` refuses the module's exclude directives: build inside the downloaded module instead.
        go mod download "github.com/docker/compose/v5@$COMPOSE_VERSION"
        mkdir -p "$(dirname "$PLUGIN")"
        (cd "$(go env GOMODCACHE)/github.com/docker/compose/v5@$COMPOSE_VERSION" && go build -trimpath -ldflags "-w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" -o "$PLUGIN" ./cmd)
    fi
    echo "docker $(docker version --format '{{.Server.Version}}'), $(docker compose version)"
}

stop() {
    local marker="$STATE/dockerd.started"
    [ -f "$marker" ] || return 0
    local pid
    pid=$(cat "$marker")
    rm -f "$marker"
    kill -TERM "$pid" 2>/dev/null || return 0
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || { kill -KILL "$pid" 2>/dev/null; break; }
        sleep 0.2 # poll interval; the deadline above bounds the wait
    done
    echo "dockerd stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: containers/engine.sh start|stop" >&2 && exit 2 ;;
esac
