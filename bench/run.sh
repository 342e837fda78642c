#!/usr/bin/env bash
# Reproduces BENCHMARKS.md's measured figures on this machine, writing bench/results/:
#   1. speed.json: the six networks on one CPU thread (cargo bench --bench speed);
#   2. web-latency.json: the sepface page in headless Chromium, CPU fallback and WebGPU;
#   3. LFW View 2 with sepface (CPU) and face-api.js (tfjs wasm), alternating chunk by chunk,
#      scored by `sepface eval embeddings` (report in bench/results/lfw/);
#   4. latency of all four library/backend pairs on the first LIMIT images (default 40);
#   5. long-run.json: FRAMES frames (default 10000) of live verification on the CPU backend,
#      with wasm and JS memory sampled every 500 frames;
#   6. layers.json: every convolution of the paper's backbones timed alone on one CPU thread;
#   7. long-run-webgpu.json: GPU_FRAMES frames (default 10000) on WebGPU, with the GPU memory
#      (about 1.5 hours on this machine's software adapter);
#   8. networks-cpu.json and networks-webgpu.json: the six networks of step 1 in headless
#      Chromium, on the CPU fallback (same batches) and on WebGPU (batches of 2 and 1).
# PAIRS_PER_FOLD=N (default 0: all 600) scores only the first N pairs of each LFW fold, for a
# shorter run.
# Needs the tools of scripts/setup.sh; installs the bench's npm packages (face-api.js) itself.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-40}
PAIRS_PER_FOLD=${PAIRS_PER_FOLD:-0}
FRAMES=${FRAMES:-10000}
GPU_FRAMES=${GPU_FRAMES:-10000}
OUT=bench/results
mkdir -p "$OUT"

./scripts/setup.sh
(cd bench && npm ci --no-audit --no-fund)
trunk build --release

cargo bench --bench speed -- --threads 1 --batches 3 --json "$OUT/speed.json"
node bench/web-latency.mjs --frames 60 --rounds 2 --json "$OUT/web-latency.json"
node bench/compare.mjs --runners sepface:cpu,faceapi:wasm --pairs-per-fold "$PAIRS_PER_FOLD" --out "$OUT/lfw-embeddings"
cargo run --features train -- eval embeddings --lfw "${SEPFACE_DATA:-../shared/data}/lfw" \
  --embeddings "$OUT/lfw-embeddings/sepface-cpu.json" --embeddings "$OUT/lfw-embeddings/faceapi-wasm.json" --out "$OUT/lfw"
node bench/compare.mjs --runners sepface:cpu,sepface:webgpu,faceapi:wasm,faceapi:webgl --limit "$LIMIT" --chunk 20 --out "$OUT/latency"
node bench/long-run.mjs --frames "$FRAMES" --every 500 --backend cpu --json "$OUT/long-run.json"
cargo bench --bench layers -- --threads 1 --runs 3 --json "$OUT/layers.json"
node bench/long-run.mjs --frames "$GPU_FRAMES" --every 500 --backend webgpu --json "$OUT/long-run-webgpu.json"
node bench/networks.mjs --backends cpu --runs 3 --json "$OUT/networks-cpu.json"
node bench/networks.mjs --backends webgpu --batches 2,1 --runs 3 --json "$OUT/networks-webgpu.json"
