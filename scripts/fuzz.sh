#!/usr/bin/env bash
# Fuzzes the parsers and decoders with cargo-fuzz (libFuzzer) on the nightly toolchain.
# Seed corpora are made here from the real files in the data folder ($SEPFACE_DATA or
# ../shared/data) and are not committed. Each target runs for SECONDS (default 600). Each run
# appends to fuzz/runs.log libFuzzer's DONE line, the execution count of its last NEW line (the
# last input that added a feature) and any crash lines. The full output of each run is kept in
# fuzz/logs/, which `cargo run --release --features train --example fuzz_coverage` plots.
#
#   ./scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(decode_image celeba_annotations cuhk_list lfw_pairs weights)
DATA=${SEPFACE_DATA:-../shared/data}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.1 --locked

seed() {
  local target=$1 dir=fuzz/corpus/$1
  mkdir -p "$dir"
  case $target in
    decode_image)
      # Process substitution, because `find | head` fails under pipefail when head exits first.
      mapfile -t photos < <(find "$DATA/lfw/lfw-deepfunneled" -name '*.jpg' | head -n 40; find "$DATA/celeba/img_celeba" -name '*.jpg' | head -n 20)
      cp "${photos[@]}" "$dir/"
      # The same face, small, in every format and JPEG variant that sepface decodes.
      cargo run --quiet --example make_image_seeds -- "$dir" "${photos[0]}" ;;
    celeba_annotations)
      for file in identity_CelebA.txt list_eval_partition.txt list_bbox_celeba.txt; do head -c 4096 "$DATA/celeba/$file" > "$dir/$file"; done ;;
    cuhk_list)
      head -n 40 "$DATA/cuhk-facepoint/trainImageList.txt" > "$dir/train.txt" ;;
    lfw_pairs)
      head -n 60 "$DATA/lfw/pairs.txt" > "$dir/pairs.txt"
      head -n 60 "$DATA/lfw/pairsDevTrain.txt" > "$dir/dev.txt" ;;
    weights)
      cp models/detector.bpk "$dir/" ;;
  esac
}

for target in "${TARGETS[@]}"; do
  seed "$target"
  echo "== $target for ${SECONDS_PER_TARGET}s"
  mkdir -p fuzz/logs
  log=fuzz/logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log
  options=(-max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=4096)
  # The words of the weights metadata and configs let mutations reach other valid configs.
  [ "$target" = weights ] && options+=(-dict=fuzz/weights.dict)
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- "${options[@]}" 2>&1 | tee "$log" | grep -E '^#[0-9]+[[:space:]]+(pulse|DONE|NEW)' | tail -n 1 || true
  status=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | tr '\t' ' ' || true)
  # Executions at the last input that added a feature (a new edge, or a new hit-count range
  # of a known edge).
  last_new=$(grep -E '^#[0-9]+[[:space:]]+NEW' "$log" | tail -n 1 | cut -f 1 || true)
  crash=$(grep -E 'SUMMARY|crash-|panicked' "$log" | head -n 3 || true)
  printf '%s %s %ss: %s, last new input at %s %s\n' "$(date -u +%FT%TZ)" "$target" "$SECONDS_PER_TARGET" "${status:-no DONE line}" "${last_new:-none}" "$crash" >> fuzz/runs.log
done
