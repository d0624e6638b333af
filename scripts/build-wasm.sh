#!/usr/bin/env bash
# Builds the browser engine: the crate for wasm32 (WebGPU + CPU fallback) and its JS bindings
# into www/pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --lib --release --target wasm32-unknown-unknown --no-default-features
wasm-bindgen --target web --no-typescript --out-dir www/pkg target/wasm32-unknown-unknown/release/privaudit.wasm
ls -l www/pkg/privaudit_bg.wasm | awk '{printf "build-wasm: www/pkg/privaudit_bg.wasm %.1f MB\n", $5/1e6}'
