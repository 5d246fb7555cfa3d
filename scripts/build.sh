#!/usr/bin/env bash
# Installs what is missing, then configures and builds in ${BUILD_DIR:-build}:
# everything, or only the targets named (bash scripts/build.sh herd kvd).
# Safe to run again: only what changed is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j"$(nproc)" "${targets[@]}"
