#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite through CTest (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/check-format.sh
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 -j"$(nproc)"
