#!/usr/bin/env bash
# trunk's post-build hook (Trunk.toml): in release builds, runs Binaryen's wasm-opt -Oz from npm
# (tools/package.json, installed by scripts/setup.sh) over the wasm file in trunk's staging
# folder. Debug builds are left as they are, so `trunk build` stays quick.
set -euo pipefail
[ "${TRUNK_PROFILE:-debug}" = "release" ] || exit 0
cd "$(dirname "$0")/.."
WASM_OPT=tools/node_modules/.bin/wasm-opt
if [ ! -x "$WASM_OPT" ]; then
  echo "scripts/wasm-opt.sh: $WASM_OPT is missing; run scripts/setup.sh (or npm ci in tools/)" >&2
  exit 1
fi
WASM="$TRUNK_STAGING_DIR/sepface_bg.wasm"
BEFORE=$(stat -c %s "$WASM")
# Every wasm feature the module may use must be enabled here, or wasm-opt rejects the module.
node "$WASM_OPT" -Oz --strip-debug --strip-producers \
  --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$WASM" -o "$WASM.opt"
mv "$WASM.opt" "$WASM"
echo "scripts/wasm-opt.sh: $WASM: $BEFORE -> $(stat -c %s "$WASM") bytes"
