#!/usr/bin/env bash
# Installs what is missing, then configures and builds herd and kvd in
# ${BUILD_DIR:-build}. Safe to run again: only what changed is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
