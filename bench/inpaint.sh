#!/usr/bin/env bash
# One run of the inpainting benchmark: pixelkeep `remove` and a flat mean fill (Rust example),
# then OpenCV Telea and NS on the same holes (Python), one table, figures merged into OUT_JSON.
#   bench/inpaint.sh [OUT_JSON]        (default: bench/results.json)
# Needs: python3 -m pip install opencv-python-headless numpy
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/results.json}"
work="${PIXELKEEP_INPAINT_DIR:-$(mktemp -d -t pixelkeep-inpaint-XXXXXX)}"
PIXELKEEP_INPAINT_DIR="$work" cargo run --quiet --release --example inpaint_bench -- "$out"
python3 bench/inpaint_opencv.py "$work" "$out"
