#!/usr/bin/env bash
# Builds the browser engine: the crate for wasm32 (WebGPU + CPU fallback) in the `wasm-release`
# profile (see Cargo.toml: size-optimised except the CPU's hot loops) and its JS bindings into
# www/pkg/. `npm run release` then shrinks it further with wasm-opt (scripts/optimize-wasm.sh).
# PRIVAUDIT_WASM_FEATURES (e.g. "fusion", see Cargo.toml) adds crate features to the build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --lib --profile wasm-release --target wasm32-unknown-unknown --no-default-features ${PRIVAUDIT_WASM_FEATURES:+--features "$PRIVAUDIT_WASM_FEATURES"}
wasm-bindgen --target web --no-typescript --out-dir www/pkg target/wasm32-unknown-unknown/wasm-release/privaudit.wasm
ls -l www/pkg/privaudit_bg.wasm | awk '{printf "build-wasm: www/pkg/privaudit_bg.wasm %.1f MB\n", $5/1e6}'
