"""Fixtures for the template tests: template.yaml as written, and as deployed for both ApiAuth values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.template import load_template
from tests.helpers import ROOT
from tests.infra.cfn import Rendered, render

OPERATIONS_DOC = ROOT / "docs" / "operations.md"


@pytest.fixture
def template() -> dict[str, Any]:
    """template.yaml as written (short tags in their long form), before SAM's transform."""
    return load_template()


@pytest.fixture
def stack() -> Rendered:
    """The default stack: API key required, bucket created by the stack."""
    return render()


@pytest.fixture
def open_stack() -> Rendered:
    """A demo stack without API keys (ApiAuth=NONE)."""
    return render(ApiAuth="NONE")


def markdown_anchors(path: Path = OPERATIONS_DOC) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (lowercase, punctuation dropped, '-' for ' ')."""
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).lower())
            anchors.add(text.replace(" ", "-"))
    return anchors
