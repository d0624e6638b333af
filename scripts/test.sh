#!/usr/bin/env bash
# Every test: native Rust tests (CPU, and wgpu on Mesa lavapipe), the wasm build, and the
# browser end-to-end tests in headless Chromium on WebGPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
export PRIVAUDIT_REQUIRE_GPU=1
cargo test --all-targets
bash scripts/build-wasm.sh
node --test --test-concurrency=1 tests/e2e/
