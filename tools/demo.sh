#!/usr/bin/env bash
# The main job on the embedded default model (models/tiny.mlir): set up and
# build, lower it to tensor level, and print its cost report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
model=models/tiny.mlir
echo
echo "== hybrid-opt $model --hybrid-tensor-pipeline (tensor-level op counts)"
build/bin/hybrid-opt "$model" --hybrid-tensor-pipeline | grep -oE 'hybrid\.[a-z0-9_]+' | sort | uniq -c | sort -rn
echo
echo "== hybridc report $model --context 2048"
build/bin/hybridc report "$model" --context 2048
