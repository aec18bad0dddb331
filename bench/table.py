"""The one table ``python -m bench`` prints: each benchmark's figure, its baseline, the ratio, the target, a verdict.

Also what a reader needs to judge the figures: when, on what machine (CPU, cores, memory, load before and
after), with which Python and library versions, and in which mode.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata

PACKAGES = ("boto3", "botocore", "aws-lambda-powertools", "aws-xray-sdk", "pydantic", "moto")


@dataclass(frozen=True)
class Row:
    benchmark: str
    measured: str
    baseline: str
    ratio: str
    target: str
    met: bool | None  # None: the benchmark crashed

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "ERROR"
        return "PASS" if self.met else "MISS"


def machine() -> dict[str, str]:
    """Date, CPU, cores, memory, load, Python and the versions of the libraries that matter here."""
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": f"{cores} ({usable} usable)",
        "memory": _memory_total(),
        "load": _load(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "libraries": ", ".join(versions),
    }


def render(rows: list[Row], header: dict[str, str], mode: str) -> str:
    lines = [
        f"imagegen benchmarks ({mode}) - {header['date']}",
        f"machine: {header['cpu']}, {header['cores']} cores, {header['memory']}; {header['os']}",
        f"python:  {header['python']}; {header['libraries']}",
        f"load average (1/5/15 min): {header['load']} before, {header.get('load_after', '?')} after",
        "",
    ]
    columns = ("benchmark", "measured", "baseline", "ratio", "target", "verdict")
    cells = [columns, *[(r.benchmark, r.measured, r.baseline, r.ratio, r.target, r.verdict) for r in rows]]
    widths = [max(len(row[index]) for row in cells) for index in range(len(columns))]

    def line(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)) + " |"

    lines.append(line(columns))
    lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    lines.extend(line(values) for values in cells[1:])
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for text in cpuinfo:
                if text.startswith("model name"):
                    return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            for text in meminfo:
                if text.startswith("MemTotal:"):
                    return f"{int(text.split()[1]) / 2**20:.0f} GiB RAM"
    except OSError:
        pass
    return "memory unknown"


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"
