#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) for pytest-codeverify's docker tests:
#   1. install docker.io and mmdebstrap from Debian's archive,
#   2. start dockerd in the background unless a daemon already answers,
#   3. build the sandbox image offline (pytest_codeverify/sandbox/images/python/build-offline.sh)
#      unless it already exists.
# Safe to run repeatedly. Exits non-zero with a clear message on failure.
#
# Environment overrides:
#   CODEVERIFY_IMAGE        image tag to ensure   (default codeverify-sandbox:python)
#   DOCKER_STORAGE_DRIVER   force a storage driver (default: try overlay2, then vfs)
#   DOCKERD_LOG             dockerd log file       (default /var/log/dockerd.log)
#   DOCKERD_TIMEOUT         seconds to wait for the daemon (default 60)
#   DOCKERD_EXTRA_ARGS      extra dockerd arguments (word-split)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
IMAGE="${CODEVERIFY_IMAGE:-codeverify-sandbox:python}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
DOCKERD_TIMEOUT="${DOCKERD_TIMEOUT:-60}"

log() { echo "docker-setup: $*" >&2; }
die() { echo "docker-setup: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# ---- 1. packages ------------------------------------------------------------
need=()
command -v dockerd    >/dev/null 2>&1 || need+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
# mmdebstrap needs the archive keyring to verify the Debian archive.
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not installed"
command -v docker  >/dev/null 2>&1 || die "docker client not installed"

# ---- 2. daemon --------------------------------------------------------------
daemon_up() { timeout 10 docker info >/dev/null 2>&1; }

# Start dockerd with the given storage driver; wait until it answers.
# Returns 1 if the process dies or the timeout expires.
start_dockerd() {
    local driver="$1" pid i
    # Containers are always run with --network none, so no bridge and no
    # iptables/NAT rules are needed; this also avoids failures on kernels or
    # iptables backends (nf_tables vs legacy) where rule setup breaks.
    local args=(--storage-driver "$driver" --iptables=false --ip-masq=false
                --bridge=none --userland-proxy=false)
    # shellcheck disable=SC2206
    [ -n "${DOCKERD_EXTRA_ARGS:-}" ] && args+=($DOCKERD_EXTRA_ARGS)
    log "starting: dockerd ${args[*]} (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    echo "=== $(date -u +%FT%TZ) dockerd ${args[*]}" >>"$DOCKERD_LOG"
    # setsid + nohup: detach so the daemon outlives this script's shell.
    setsid nohup dockerd "${args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    pid=$!
    for ((i = 0; i < DOCKERD_TIMEOUT; i++)); do
        if daemon_up; then
            log "dockerd (pid $pid) is up after ${i}s"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "dockerd with storage driver $driver exited; last log lines:"
            tail -n 15 "$DOCKERD_LOG" >&2
            return 1
        fi
        sleep 1
    done
    log "dockerd (pid $pid) did not answer within ${DOCKERD_TIMEOUT}s; stopping it"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 15; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    return 1
}

if daemon_up; then
    log "docker daemon already reachable"
else
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        log "systemd detected: trying 'systemctl start docker'"
        systemctl start docker >/dev/null 2>&1 || true
        for ((i = 0; i < DOCKERD_TIMEOUT; i++)); do daemon_up && break; sleep 1; done
    fi
    if ! daemon_up; then
        if pgrep -x dockerd >/dev/null 2>&1; then
            die "a dockerd process exists but does not answer on the docker socket; see $DOCKERD_LOG"
        fi
        # Stale pid/socket files from a killed daemon make dockerd refuse to start.
        rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
        ok=0
        if [ -n "${DOCKER_STORAGE_DRIVER:-}" ]; then
            start_dockerd "$DOCKER_STORAGE_DRIVER" && ok=1
        else
            # overlay2 is fast; it fails e.g. when /var/lib/docker itself lives
            # on overlayfs (nested containers). vfs works everywhere but copies
            # whole layers per container (slow, disk hungry).
            start_dockerd overlay2 && ok=1
            if [ "$ok" = 0 ] && ! pgrep -x dockerd >/dev/null 2>&1; then
                log "falling back to the vfs storage driver"
                start_dockerd vfs && ok=1
            fi
        fi
        [ "$ok" = 1 ] || die "could not start the docker daemon (see $DOCKERD_LOG)"
    fi
fi
log "daemon: $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}, cgroup v{{.CgroupVersion}} ({{.CgroupDriver}})' 2>/dev/null)"

# ---- 3. sandbox image -------------------------------------------------------
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "image $IMAGE present"
else
    log "building $IMAGE offline"
    "$ROOT/pytest_codeverify/sandbox/images/python/build-offline.sh" "$IMAGE" || die "building $IMAGE failed"
fi
docker image inspect "$IMAGE" --format 'docker-setup: image {{index .RepoTags 0}} {{.Id}} size={{.Size}} python={{index .Config.Labels "codeverify.python.version"}}' >&2
