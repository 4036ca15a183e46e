#!/usr/bin/env bash
# Redraw docs/report/report.png, the README's picture of a real `bench report` page.
#
#   docs/report/screenshot.sh [PLUGINS]     # default: knn,eigenface,prnu*,stega; "all" for every plugin
#   docs/report/screenshot.sh --report DIR  # photograph a report already written (DIR/index.html)
#
# Runs `bench run` on zoo:default (clean and JPEG-attacked test images, with immunization) into a
# fresh results store, writes its report, and has headless Chromium photograph the top of the
# page. Needs the `bench` of this checkout on PATH (pip install -e .) and Debian's `chromium`.
# middle.png and bottom.png beside it are the middle and the bottom of the same page (the all-plugins
# zoo:default report of 2026-12-07), kept to check what a reader meets below the top.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
export MPLBACKEND=Agg
if [ "${1:-}" = "--report" ]; then
    report="$(cd "$2" && pwd)"
else
    plugins="${1:-knn,eigenface,prnu*,stega}"
    report="$work/report"
    bench -q run --dataset zoo:default --plugins "$plugins" --attacks none,jpeg --immunize \
        --store "$work/store.db" --report "$report"
fi
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --force-device-scale-factor=1 \
    --user-data-dir="$work/profile" --window-size=1280,1900 --screenshot="$work/top.png" \
    "file://$report/index.html" 2>/dev/null
# A small PNG for the repository: 1000 px wide, 256 colours.
python - "$work/top.png" "$here/report.png" <<'PY'
import sys
from PIL import Image

shot = Image.open(sys.argv[1]).convert("RGB")
shot = shot.resize((1000, round(shot.height * 1000 / shot.width)), Image.Resampling.LANCZOS)
shot.quantize(256, method=Image.Quantize.FASTOCTREE).save(sys.argv[2], optimize=True)
PY
echo "wrote $here/report.png from $report/index.html"
