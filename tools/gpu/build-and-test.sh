#!/usr/bin/env bash
# tools/gpu/build-and-test.sh - the GPU-side build and tests in one command
# (run on the GPU machine from the repository root, with .carry/ from
# tools/gpu/prepare.sh, carried as .carry-pack/carry.tar.xz):
#   1. runtime-only build there (no MLIR; flatbuffers headers and the
#      generated schema header from .carry/include): hybrid-run, npy-compare;
#   2. tests/gpu/gpu_tests.sh with the binaries built there;
#   3. with KERNELS=1: tests/gpu/kernels (prefill kernels vs host references,
#      micro-benchmarks);
#   4. with BENCH=1: hybrid-run bench of the four models/perf models;
#   5. with PEER=1: the PyTorch peer's timings (tools/gpu/peer_subset.py) and
#      its bf16 logits on the HF fixtures (tools/gpu/peer_bf16_error.py);
#   6. tests/gpu/train_tests.sh (TRAIN=0 skips it); with TRAIN_BENCH=1
#      hybrid-run train-bench of inter-1:5 and intra at B8 L2048 and the
#      peer's training step (tools/gpu/peer_train.py) in the same call.
# Logs and JSON go to $OUT (or ./gpu-out).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUTDIR=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUTDIR"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
if [ ! -d "$ROOT/.carry/hyb" ] && [ -f "$ROOT/.carry-pack/carry.tar.xz" ]; then
  tar -C "$ROOT" -xJf "$ROOT/.carry-pack/carry.tar.xz"
fi
BIN=$ROOT/.carry/bin
if [ "${GPU_BUILD:-1}" = 1 ]; then
  B=/tmp/hybridc-gpu-build
  t0=$(date +%s)
  if cmake -G Ninja -S "$ROOT" -B "$B" -DHYBRIDC_RUNTIME_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
       -DHYBRIDC_HYB_GENERATED="$ROOT/.carry/include/runtime/hyb/hyb_generated.h" \
       -DCMAKE_CXX_FLAGS="-I$ROOT/.carry/include" > "$OUTDIR/gpu-build.log" 2>&1 &&
     ninja -C "$B" hybrid-run npy-compare >> "$OUTDIR/gpu-build.log" 2>&1; then
    echo "gpu-side runtime-only build: ok ($(( $(date +%s) - t0 )) s)"
    BIN=$B/bin
  else
    echo "gpu-side runtime-only build: FAILED (log: gpu-build.log); using the carried binaries"
    tail -20 "$OUTDIR/gpu-build.log"
  fi
fi
rc=0
bash "$ROOT/tests/gpu/gpu_tests.sh" "$BIN" "$ROOT/.carry/hyb" 2>&1 | tee "$OUTDIR/gpu-tests.log"
rc=${PIPESTATUS[0]}
if [ "${TRAIN:-1}" = 1 ]; then  # training on the GPU vs the CPU reference
  bash "$ROOT/tests/gpu/train_tests.sh" "$BIN" "$ROOT/.carry/hyb" 2>&1 | tee "$OUTDIR/train-tests.log"
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
fi
if [ "${KERNELS:-0}" = 1 ]; then  # the prefill kernels vs host references, and their timings
  bash "$ROOT/tests/gpu/kernels/build-and-run.sh" 2>&1 | tee "$OUTDIR/kernels.log"
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
fi
if [ "${BENCH:-0}" = 1 ]; then
  for m in inter-1to5 intra mamba2 transformer; do
    "$BIN/hybrid-run" bench "$ROOT/.carry/hyb/perf-$m.hyb" --random-weights 1 --batch 1 --seq 2048 \
      --decode-tokens 64 --reps 10 --json "/tmp/bench-$m-b1.json" 2>&1 | tee -a "$OUTDIR/bench.log"
    if [ "$m" = inter-1to5 ] || [ "$m" = intra ]; then
      "$BIN/hybrid-run" bench "$ROOT/.carry/hyb/perf-$m.hyb" --random-weights 1 --batch 8 --seq 2048 \
        --decode-tokens 16 --reps 5 --json "/tmp/bench-$m-b8.json" 2>&1 | tee -a "$OUTDIR/bench.log"
    fi
  done
  cat /tmp/bench-*.json > "$OUTDIR/bench.jsonl" 2>/dev/null
fi
if [ "${TRAIN_BENCH:-0}" = 1 ]; then  # training steps at B8 L2048 and the peer's, same call
  for m in inter-1to5 intra; do
    "$BIN/hybrid-run" train-bench "$ROOT/.carry/hyb/perf-$m-train.hyb" --batch 8 --seq 2048 \
      --steps 5 --warmup 2 --json "/tmp/train-bench-$m.json" 2>&1 | tee -a "$OUTDIR/train-bench.log"
  done
  cat /tmp/train-bench-*.json > "$OUTDIR/train-bench.jsonl" 2>/dev/null
  PYTHONUNBUFFERED=1 python3 "$ROOT/tools/gpu/peer_train.py" --out "$OUTDIR" 2>&1 | grep -v Warning | tee "$OUTDIR/peer-train.log"
fi
if [ "${PEER:-0}" = 1 ]; then  # the PyTorch peer, same call, same card
  PYTHONUNBUFFERED=1 python3 "$ROOT/tools/gpu/peer_subset.py" --out "$OUTDIR" 2>&1 | grep -v Warning | tee "$OUTDIR/peer.log"
  # and its bf16 numerics on the HF fixtures, next to the bounds of gpu_tests.sh
  python3 "$ROOT/tools/gpu/peer_bf16_error.py" --out "$OUTDIR" 2>&1 | grep '^{' | tee "$OUTDIR/peer-bf16-error.log"
fi
exit $rc
