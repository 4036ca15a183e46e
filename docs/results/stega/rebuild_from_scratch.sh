#!/usr/bin/env bash
# The from-scratch build of a shipped zoo:stega preset (issue #34, item 3), and whether it gives
# the shipped files back byte for byte.
#
#   bash docs/results/stega/rebuild_from_scratch.sh WORKDIR [PRESET]      # PRESET: default
#
# WORKDIR gets a clone of this repository's HEAD from which the preset's shipped steganography
# models (every stage of its recipe chain) and generators are deleted, a virtual environment of
# its own (the README's constraints) and an empty cache. `bench stega build --preset PRESET` then
# trains everything, timed as a whole; last, each model and generator it trained is compared by
# sha256 with the file shipped here. Nothing else should run on the machine meanwhile.
set -euo pipefail
work="$(realpath -m "$1")"
name="${2:-default}"
repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
rm -rf "$work"
mkdir -p "$work"
git clone -q "$repo" "$work/repo"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q -e "$work/repo" -c "$work/repo/constraints.txt"
# the preset's shipped files, as paths inside the package
shipped="$("$work/venv/bin/python" - "$name" <<'EOF'
import sys
from ganprint.cache import config_key
from ganprint.plugins.stega import presets, publishers, weights
p = presets.preset(sys.argv[1])
for config in presets.recipe_chain(p):
    print((weights.SHIPPED / config_key(config.as_dict())).relative_to(weights.SHIPPED.parent))
print(publishers.shipped_generators(p).relative_to(weights.SHIPPED.parent))
EOF
)"
for folder in $shipped; do
    rm -r "$work/repo/plugins/stega/$folder"
done
export GANPRINT_CACHE="$work/cache"
start=$(date +%s)
"$work/venv/bin/bench" stega build --preset "$name"
echo "build: $(( $(date +%s) - start )) s"
"$work/venv/bin/python" - "$name" "$repo/plugins/stega" <<'EOF'
import hashlib
import sys
from pathlib import Path
from ganprint.cache import config_key
from ganprint.plugins.stega import presets, publishers, weights
p, shipped = presets.preset(sys.argv[1]), Path(sys.argv[2]) / "weights"
pairs = []
for config in presets.recipe_chain(p):
    key = config_key(config.as_dict())
    pairs += [(weights.model_dir(config) / f, shipped / key / f) for f in ("encoder.safetensors", "decoder.safetensors")]
for family in p.families:
    tag = f"{family}-{p.iterations_of(family)}.safetensors"
    pairs.append((publishers.work_dir(p) / "generators" / tag, shipped / "gans" / p.name / tag))
digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
for built, ship in pairs:
    same = digest(built) == digest(ship)
    print(f"{'identical' if same else 'DIFFERENT'}  {ship.relative_to(shipped)}  built {digest(built)}  shipped {digest(ship)}")
EOF
