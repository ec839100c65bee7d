#!/usr/bin/env bash
# The main job on the embedded default model (models/tiny.mlir): set up and
# build, print its cost report, compile it to a .hyb and generate with it on
# the CPU reference executor. The weights are seeded random ones (the model is
# untrained until `hybrid-run train` exists), so the text is noise; the run
# shows the whole path: MLIR model -> passes -> artifact -> runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
model=models/tiny.mlir
out=build/demo
mkdir -p "$out"
echo
echo "== hybridc report $model --context 2048"
build/bin/hybridc report "$model" --context 2048
echo
echo "== hybridc compile $model -o $out/tiny.hyb --target cpu"
build/bin/hybridc compile "$model" -o "$out/tiny.hyb" --target cpu
echo
echo "== hybrid-run generate $out/tiny.hyb --random-weights 1 --prompt 'The hybrid model' --max-new-tokens 24 --top-k 40 --seed 1"
build/bin/hybrid-run generate "$out/tiny.hyb" --random-weights 1 --prompt "The hybrid model" \
  --max-new-tokens 24 --top-k 40 --seed 1 --device cpu
