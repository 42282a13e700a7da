"""Shared by the benchmark scripts: JSON results and one section of benchmarks/RESULTS.md each."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """The architecture, core count and, on Linux, the CPU's name and vector extensions: the machines these
    benchmarks run on differ from session to session (the peer's XNNPACK gains most from AVX-512)."""
    text = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    info = Path("/proc/cpuinfo")
    if info.exists():
        fields = dict(line.split(":", 1) for line in info.read_text().splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        flags = fields.get("flags", "").split()
        vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
        text += f", {fields.get('model name', 'unknown CPU')} (family {fields.get('cpu family', '?')} model " \
                f"{fields.get('model', '?')}, {vector})"
    return text


def write_results(name: str, results: dict, heading: str, section: str) -> None:
    """Save ``results`` as results/<name>.json and put ``section`` (markdown, starting with ``heading``) into
    RESULTS.md in place of the section that starts with the same heading (a section's title without the machine
    it ran on, so that a run on another machine replaces it)."""
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    results_md = HERE / "RESULTS.md"
    text = results_md.read_text() if results_md.exists() else "# Benchmark results\n\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results_md.write_text(text)
