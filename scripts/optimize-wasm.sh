#!/usr/bin/env bash
# Optimises the shipped wasm in place with wasm-opt from the npm package `binaryen` (Debian's
# binaryen 108 produced a module that fails to load). -Oz takes ~8 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
WASM=www/pkg/privaudit_bg.wasm
before=$(stat -c %s "$WASM")
# Two passes: the second finds what the first made possible (2026-12-04, with the tabular
# pipelines: 3.32 MB gzipped after one pass, 3.28 MB after two; about 2 more minutes).
for pass in 1 2; do
  node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    --enable-reference-types --enable-multivalue --enable-simd "$WASM" -o "$WASM.opt"
  mv "$WASM.opt" "$WASM"
done
echo "optimize-wasm: $before -> $(stat -c %s "$WASM") bytes"
