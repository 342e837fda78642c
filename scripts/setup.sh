#!/usr/bin/env bash
# Installs what building, serving and testing sepface need, skipping what is already there:
# the wasm32 target, pinned wasm-bindgen-cli, wasm-pack and trunk, Debian's Chromium and
# ChromeDriver, and from npm the end-to-end test's package and Binaryen's wasm-opt. Downloads
# come only from package registries (crates.io, Debian, npm) and, for a missing wasm32 target,
# from rustup's own distribution server, never from anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')

log() { printf '\n== %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # NOTE: with --locked this version failed to build here; without it, it builds.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ "$(wasm-pack --version 2>/dev/null | cut -d' ' -f2)" != "$WASM_PACK_VERSION" ]; then
  log "installing wasm-pack $WASM_PACK_VERSION"
  cargo install --locked wasm-pack --version "$WASM_PACK_VERSION" --force
fi

if [ "$(trunk --version 2>/dev/null | cut -d' ' -f2)" != "$TRUNK_VERSION" ]; then
  log "installing trunk $TRUNK_VERSION"
  cargo install --locked trunk --version "$TRUNK_VERSION" --force
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "installing Chromium and ChromeDriver from Debian"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  $SUDO apt-get install -y chromium chromium-driver
fi

if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  log "installing the end-to-end test's npm packages"
  (cd tests/e2e && npm ci --no-audit --no-fund)
fi

if [ ! -d tools/node_modules/binaryen ]; then
  log "installing Binaryen's wasm-opt from npm, for release builds"
  (cd tools && npm ci --no-audit --no-fund)
fi

# trunk builds offline, so every crate must be in the local cache first.
cargo fetch --quiet
