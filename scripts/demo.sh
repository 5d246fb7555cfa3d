#!/usr/bin/env bash
# The main job: install what is missing, build, and run the smoke scenario:
# herd launches kvd on loopback (shedding a tenth of its requests), drives a
# fleet with jittered retries and a retry budget for a few seconds, stops
# kvd, and writes the run directory under reports/. Any other scenario:
#   bash scripts/demo.sh scenarios/book/fig9-4-exponential.json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh herd kvd
BUILD_DIR=${BUILD_DIR:-build}
exec "$BUILD_DIR/harness/herd" run "${1:-scenarios/smoke.json}" "${@:2}"
