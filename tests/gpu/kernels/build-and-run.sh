#!/usr/bin/env bash
# tests/gpu/kernels/build-and-run.sh [NAME...] - builds each kernel check and
# microbenchmark of this folder (NAME.cu: attn_prefill_bench, ssd_chunk_bench,
# mamba_bwd_bench, rows_bwd_bench, attn_bwd_bench,
# ssd_chunk_bwd_bench, adamw_bench; default all) into /tmp and runs it on the
# GPU. Each compares a kernel against a host reference on random inputs, then
# times it on the shapes of shared/PERFORMANCE.md (next to the kernel it
# replaces, if any).
# Exit status: 0 when every bench passes; 3 when one does not build; 77
# (ctest: skipped) without a GPU or nvcc.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && cd .. && pwd)
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi -L > /dev/null 2>&1; then
  echo "SKIP: no NVIDIA GPU on this machine"; exit 77
fi
if [ ! -x "$NVCC" ]; then echo "SKIP: no nvcc"; exit 77; fi
names=("$@")
[ ${#names[@]} = 0 ] && names=(attn_prefill_bench ssd_chunk_bench ssd_chunk_bwd_bench adamw_bench mamba_bwd_bench rows_bwd_bench attn_bwd_bench)
rc=0
for n in "${names[@]}"; do
  echo "== $n"
  "$NVCC" -O3 -std=c++17 -arch=sm_90a -I"$ROOT/codegen/kernels" "$HERE/$n.cu" -o "/tmp/$n" || { rc=3; continue; }
  "/tmp/$n" || rc=$((rc == 0 ? 1 : rc))
done
exit $rc
