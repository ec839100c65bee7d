#!/usr/bin/env bash
# tools/gpu/profile-decode.sh - per-kernel GPU time of ONE decode step (B1,
# context 2048) of each model named (default: perf-inter-1to5), through ncu
# over the step that HYBRIDC_CUDA_PROFILE=1 brackets with cuProfilerStart/Stop.
# Run on the GPU machine from the repository root after build-and-test.sh's
# build (BIN= the binaries). Tables go to $OUT/profile-<model>.txt.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUTDIR=${OUT:-$ROOT/gpu-out}
BIN=${BIN:-$ROOT/.carry/bin}
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
for m in ${MODELS:-inter-1to5}; do
  HYBRIDC_CUDA_PROFILE=1 "$NCU" --profile-from-start off --cache-control none --clock-control none \
    --metrics gpu__time_duration.sum --csv --print-units base \
    "$BIN/hybrid-run" bench "$ROOT/.carry/hyb/perf-$m.hyb" --random-weights 1 --batch 1 --seq 2048 \
    --decode-tokens 4 --reps 1 > "/tmp/ncu-$m.csv" 2> "/tmp/ncu-$m.err"
  python3 "$ROOT/tools/gpu/kernel_table.py" "/tmp/ncu-$m.csv" | tee "$OUTDIR/profile-$m.txt"
done
