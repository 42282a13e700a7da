#!/usr/bin/env bash
# Install personseg and everything it needs into the current Python (idempotent; offline runs need nothing more).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[dev]"
