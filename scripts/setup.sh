#!/usr/bin/env bash
# Install personseg and everything it needs into the current Python (idempotent; offline runs need nothing more).
set -euo pipefail
cd "$(dirname "$0")/.."
# torch first, pinned: this exact version installs the local CPU build (an open range pulls CUDA packages).
python3 -m pip install --quiet --disable-pip-version-check torch==2.13.0
python3 -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
# The browser test drives Debian's Chromium through Playwright (Playwright's own browser download is not used).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo "sudo")
    $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
fi
