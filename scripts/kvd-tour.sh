#!/usr/bin/env bash
# A tour of kvd with curl: build, launch kvd on loopback, exercise it (data,
# throttling, an injected fault, health checks) and write what it saw to
# reports/kvd-tour-<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh kvd
BUILD_DIR=${BUILD_DIR:-build}
KVD=$BUILD_DIR/targets/kvd/kvd

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${OUT:-reports/kvd-tour-$stamp}
mkdir -p "$out"
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT

"$KVD" --http 127.0.0.1:0 --grpc 127.0.0.1:0 --data-dir "$data" --admin-token demo \
  --throttle-rate 2 --throttle-burst 5 --max-inflight 50 \
  >"$out/kvd.ready" 2>"$out/kvd.log" &
pid=$!
for _ in $(seq 100); do [[ -s $out/kvd.ready ]] && break; sleep 0.05; done
addr=$(sed -E 's/.*"http":"([^"]+)".*/\1/' "$out/kvd.ready")
base=http://$addr
for _ in $(seq 100); do [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]] && break; sleep 0.05; done

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
{
  echo "kvd tour, $(date -u +%FT%TZ), kvd at $base (pid $pid)"
  "$KVD" --version
  echo
  echo "== data: PUT, GET, DELETE, GET"
  echo "PUT /v1/hello        -> $(code -X PUT --data-binary world "$base/v1/hello")"
  echo "GET /v1/hello        -> $(curl -s "$base/v1/hello")"
  echo "DELETE /v1/hello     -> $(code -X DELETE "$base/v1/hello")"
  echo "GET /v1/hello        -> $(code "$base/v1/hello")"
  echo
  echo "== throttling: 40 quick GETs from one client with a bucket of 5 tokens refilled at 2/s"
  n200=0; n429=0
  for _ in $(seq 40); do
    case $(code -H 'X-Client-Id: greedy' "$base/v1/k") in 404) n200=$((n200+1));; 429) n429=$((n429+1));; esac
  done
  echo "served $n200, throttled (429) $n429"
  echo "another client       -> $(code -H 'X-Client-Id: polite' "$base/v1/k") (not throttled)"
  echo
  echo "== fault: error_rate 1 with status 503 through /admin/faults"
  curl -s -X PUT -H 'Authorization: Bearer demo' -d '{"error_rate":1,"error_status":503}' "$base/admin/faults"
  echo "GET /v1/k            -> $(code -H 'X-Client-Id: f' "$base/v1/k")"
  echo "/healthz             -> $(code "$base/healthz") (health is never faulted)"
  curl -s -X DELETE -H 'Authorization: Bearer demo' "$base/admin/faults" >/dev/null
  echo "after DELETE         -> $(code -H 'X-Client-Id: f' "$base/v1/k")"
  echo
  echo "== health"
  for p in /healthz /healthz/shallow /healthz/deep /readyz; do echo "$p -> $(code "$base$p")"; done
} | tee "$out/summary.txt"

curl -s "$base/metrics" >"$out/metrics.txt"
curl -s "$base/info" >"$out/info.json"
kill -TERM "$pid"
wait "$pid" && echo "kvd drained and exited 0" | tee -a "$out/summary.txt"
echo "report: $out"
