#!/usr/bin/env bash
# Installs every Debian package herd's build, tests and benchmarks need.
# Idempotent: a package already present is not fetched again, and when
# nothing is missing apt is not touched at all (so it also works offline).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git ca-certificates curl procps
  # libraries (DESIGN.md, Dependencies)
  libcurl4-openssl-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libfmt-dev libcli11-dev
  libboost-dev libboost-system-dev
  libgtest-dev libgmock-dev googletest
  # the report tests: libxml2 parses report.html and the SVGs, headless
  # Chromium screenshots a report (the test skips itself without it)
  libxml2-dev libpng-dev chromium
  # peers for benchmarks and tests: wrk, hey, ab, nginx
  wrk hey apache2-utils nginx-light
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx-light's package starts a system nginx on port 80; herd's benchmark
# runs its own on a free loopback port, so keep the system one out of the way.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
$SUDO pkill -x nginx >/dev/null 2>&1 || true
echo "setup: done"
