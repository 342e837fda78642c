#!/usr/bin/env bash
# Sets up the tools (scripts/setup.sh), then runs every test: native unit and integration
# tests, the browser tests on the CPU backend and WebGPU (wasm-pack, headless Chromium), and
# the end-to-end test of the built page with a fake camera. Screenshots go to artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

printf '\n== native tests\n'
cargo test --features train

printf '\n== browser tests (headless Chromium, CPU backend and WebGPU)\n'
# Software WebGPU compiles shaders slowly: allow minutes per suite, not the default 20 s.
WASM_BINDGEN_TEST_TIMEOUT=900 wasm-pack test --headless --chrome --mode no-install -- --test web

printf '\n== end-to-end test of the page\n'
trunk build
node tests/e2e/e2e.mjs
