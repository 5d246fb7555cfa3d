#!/usr/bin/env bash
# Regenerates reports/gallery/, the committed reference figures:
#   fig9-2-immediate.svg .. fig9-5-book-jitter.svg  Cloud Native Go's figures
#       9-2 to 9-5 (1,000 clients retrying against a failing kvd, attempts per
#       second), each the throughput figure of its scenario under scenarios/book/;
#   chaos-demo/  the whole report of scenarios/chaos-demo.json (report.html,
#       figures/, summary.json).
# About 18 minutes (four 4-minute runs and a 90 s one), one after another so
# they do not share the CPU. Installs and builds what is missing first.
# GALLERY_ARGS is passed to the book's runs (a quicker check of this script:
# GALLERY_ARGS="--duration 3s" bash scripts/gallery.sh takes 2 minutes; then
# git checkout reports/). chaos-demo always runs whole: its faults need 90 s.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR bash scripts/build.sh herd kvd >/dev/null
herd=$BUILD_DIR/harness/herd
gallery=reports/gallery
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$gallery"

for scenario in scenarios/book/fig9-*.json; do
  name=$(basename "$scenario" .json)
  echo "gallery: $name"
  "$herd" run "$scenario" --out "$work/$name" -q ${GALLERY_ARGS:-}
  cp "$work/$name/figures/throughput-clients.svg" "$gallery/$name.svg"
done

echo "gallery: chaos-demo (90 s)"
"$herd" run scenarios/chaos-demo.json --out "$work/chaos-demo" -q
rm -rf "$gallery/chaos-demo"
mkdir -p "$gallery/chaos-demo"
cp -r "$work/chaos-demo/report.html" "$work/chaos-demo/figures" "$work/chaos-demo/summary.json" "$gallery/chaos-demo/"
echo "gallery: written to $gallery"
