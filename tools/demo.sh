#!/usr/bin/env bash
# The main job on the embedded default model (models/tiny.mlir, a byte-level
# hybrid: Mamba-2, attention and a parallel block): set up and build, print its
# cost report, compile it with its training program, train it briefly on real
# English text (Debian's fortunes) and generate from it — on the GPU when one
# is present (hybrid-run --device cuda), else on the CPU reference executor.
# The run half is tools/demo-run.sh (runtime only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
model=models/tiny.mlir
out=build/demo
mkdir -p "$out"
# The GPU trains and generates when this machine has one (an NVIDIA driver)
# and nvcc to build the kernels; otherwise the CPU reference executor does.
device=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 &&
   { command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; } &&
   [ -f build/lib/libhybrid_cuda.so ]; then
  device=cuda
fi
corpus=$(ls /usr/share/games/fortunes/{fortunes,literature,wisdom,science,people} | paste -sd, -)

echo
echo "== hybridc report $model --context 2048"
build/bin/hybridc report "$model" --context 2048
target=cpu; [ "$device" = cuda ] && target=cuda
echo
echo "== hybridc compile $model --train --target $target -o $out/tiny.hyb"
build/bin/hybridc compile "$model" --train --target "$target" -o "$out/tiny.hyb"
bash tools/demo-run.sh build/bin "$out/tiny.hyb" "$device" "$corpus" "$out"
