"""Benchmarks that print ratios against a baseline (``python -m bench.<name>``; not tests).

Run from a checkout, the core is not installed, so its source directory is put on the path here, as
pytest's ``pythonpath`` and the SAM layer do.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

_CORE = Path(__file__).resolve().parent.parent / "core"
if find_spec("imagegen_core") is None and _CORE.is_dir():
    sys.path.insert(0, str(_CORE))
