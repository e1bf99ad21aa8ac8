#!/usr/bin/env bash
# Regenerates screenshots/*.png from real runs of the dashboard: the
# screenshots test drives a live cluster and the real dashboard, writes
# each frame as SVG, and rsvg-convert turns them into PNG.
# Needs rsvg-convert (Debian: apt-get install librsvg2-bin) and the
# DejaVu Sans Mono font. CI does not run this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rsvg-convert >/dev/null 2>&1; then
    echo "rsvg-convert is missing: apt-get install librsvg2-bin" >&2
    exit 1
fi
out="$(pwd)/target/screenshots"
rm -rf "$out"
mkdir -p "$out" screenshots
RAFTLAB_SCREENSHOTS="$out" cargo test --release --test screenshots -- --nocapture
for svg in "$out"/*.svg; do
    name="$(basename "$svg" .svg)"
    rsvg-convert "$svg" -o "screenshots/$name.png"
    echo "screenshots/$name.png"
done
