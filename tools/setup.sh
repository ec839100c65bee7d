#!/usr/bin/env bash
# Installs what is missing (Debian packages) and builds hybridc into build/.
# Used by tools/demo.sh and tools/test.sh; safe to run again (incremental).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ python3
          libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
          python3-numpy libflatbuffers-dev flatbuffers-compiler libfmt-dev libgtest-dev
          clang libclang-rt-14-dev fortunes)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs="${HYBRIDC_JOBS:-2}"
if [ ! -f build/build.ninja ]; then
  echo "== configuring build/"
  cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
fi
echo "== building (ninja -j$jobs)"
ninja -C build -j"$jobs" | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
test -x build/bin/hybridc -a -x build/bin/hybrid-opt
