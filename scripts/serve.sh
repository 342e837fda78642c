#!/usr/bin/env bash
# Sets up the tools (scripts/setup.sh), then serves the web app with the shipped models on
# http://127.0.0.1:8080. Open that address; it counts as a secure origin, so the camera works.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec trunk serve --release "$@"
