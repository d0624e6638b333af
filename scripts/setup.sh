#!/usr/bin/env bash
# Installs what privaudit needs, idempotently: the wasm32 target, wasm-bindgen-cli at exactly the
# version in Cargo.lock, the npm dev-dependencies, and with --test Debian's chromium,
# chromium-driver and mesa-vulkan-drivers (as root; otherwise it says what to install).
# Nothing is downloaded but packages from crates.io, npm and Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

WB=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WB"; then
  echo "setup: installing wasm-bindgen-cli $WB (the version in Cargo.lock; takes ~3 min)"
  # Not --locked: its lockfile pins a webpki-roots version this registry does not serve.
  cargo install wasm-bindgen-cli --version "$WB"
fi

# Installed = every dev-dependency present at exactly its pinned version (a pull may add one).
if ! node -e 'const d = require("./package.json").devDependencies;
  for (const [n, v] of Object.entries(d)) { try { if (require(`./node_modules/${n}/package.json`).version !== v) process.exit(1); } catch { process.exit(1); } }'; then
  echo "setup: installing npm dev-dependencies"
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--test" ]; then
  missing=()
  for p in chromium chromium-driver mesa-vulkan-drivers; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "setup: apt-get install ${missing[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      echo "setup: please install these Debian packages (as root): ${missing[*]}" >&2
      exit 1
    fi
  fi
fi
