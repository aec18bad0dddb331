"""The offline stack: a Bedrock stand-in and the pieces that run the service on one machine.

``local`` may import the shared core (never the other way round). Run from a checkout with
``python -m local...``, the core is not installed, so its source directory is put on the path here,
exactly as pytest's ``pythonpath`` and the SAM layer do.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

_CORE = Path(__file__).resolve().parent.parent / "core"
if find_spec("imagegen_core") is None and _CORE.is_dir():
    sys.path.insert(0, str(_CORE))
