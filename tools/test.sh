#!/usr/bin/env bash
# Every test: set up and build, then ctest runs the GoogleTest unit tests and
# the lit suite (which includes the plugin and every model under models/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
ctest --test-dir build --output-on-failure -j2
