#!/usr/bin/env bash
# tools/gpu/prepare.sh - everything the GPU machine needs, built HERE (it has
# no MLIR, no flatc, no flatbuffers headers), into the ignored folder .carry/:
#   .carry/bin      hybrid-run, npy-compare; .carry/lib libhybrid_cuda.so
#   .carry/hyb      .hyb files compiled with --target cuda (fatbin inside):
#                   the tiny model, every HF fixture family, the e2e families,
#                   the four models/perf models (max context 4096)
#   .carry/include  flatbuffers headers + the generated hyb_generated.h, for
#                   the runtime-only build there (tools/gpu/build-and-test.sh)
# Then: device run with carry [".carry-pack"] of `tools/gpu/build-and-test.sh`
# (it unpacks .carry-pack/carry.tar.xz into .carry/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-cuda}
C=$ROOT/.carry
ninja -C "$BUILD" -j2 hybridc hybrid-run npy-compare HybridCuda
rm -rf "$C/hyb" && mkdir -p "$C/bin" "$C/lib" "$C/hyb" "$C/include/runtime/hyb"
cp "$BUILD/bin/hybrid-run" "$BUILD/bin/npy-compare" "$C/bin/"
# The CUDA executor is dlopen'ed from ../lib next to the binary (runtime/exec/DeviceBackend.cpp).
cp "$BUILD/lib/libhybrid_cuda.so" "$C/lib/"
cp -r /usr/include/flatbuffers "$C/include/"
cp "$BUILD/runtime/hyb/hyb_generated.h" "$C/include/runtime/hyb/"
H="$BUILD/bin/hybridc"
for f in bamba falcon_h1 llama mamba2 nemotron_h; do
  "$H" import-hf "$ROOT/tests/fixtures/hf/$f" -o "$C/hyb/$f.mlir"
  "$H" compile "$C/hyb/$f.mlir" --target cuda -o "$C/hyb/hf-$f.hyb"
done
"$H" compile "$ROOT/models/tiny.mlir" --target cuda -o "$C/hyb/tiny.hyb"
for m in transformer mamba2 inter intra_diff intra_concat; do
  "$H" compile "$ROOT/tests/lit/e2e/Inputs/families.mlir" --model $m --target cuda -o "$C/hyb/fam-$m.hyb"
done
for m in inter-1to5 intra mamba2 transformer; do
  "$H" compile "$ROOT/models/perf/$m.mlir" --target cuda -o "$C/hyb/perf-$m.hyb"
done
# Training artifacts (train_step + its backward kernels): the tiny model, the
# e2e families whose ops all have a CUDA backward, inter-1:5 and intra.
"$H" compile "$ROOT/models/tiny.mlir" --train --target cuda -o "$C/hyb/tiny-train.hyb"
for m in transformer mamba2 inter intra_diff intra_concat; do
  "$H" compile "$ROOT/tests/lit/e2e/Inputs/families.mlir" --model $m --train --target cuda \
    -o "$C/hyb/fam-$m-train.hyb" 2> "$C/hyb/fam-$m-train.err" && rm -f "$C/hyb/fam-$m-train.err" ||
    echo "note: fam-$m has no GPU training artifact: $(tail -1 "$C/hyb/fam-$m-train.err")"
done
for m in inter-1to5 intra; do
  "$H" compile "$ROOT/models/perf/$m.mlir" --train --target cuda -o "$C/hyb/perf-$m-train.hyb"
done
rm -f "$C"/hyb/*.mlir "$C"/hyb/*.err
du -sh "$C"
# The device call carries at most 64 MB: .carry-pack/carry.tar.xz holds all of
# .carry compressed (~8 MB); tools/gpu/build-and-test.sh unpacks it there.
mkdir -p "$ROOT/.carry-pack"
tar -C "$ROOT" -cJf "$ROOT/.carry-pack/carry.tar.xz" .carry
du -sh "$ROOT/.carry-pack/carry.tar.xz"
