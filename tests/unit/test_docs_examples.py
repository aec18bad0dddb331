"""The examples in the docs work on what we deploy by default: every request body a curl example sends and every
`imagegen generate`/`submit` example's options, read by the same rules the API applies for the default model
(the core's request model, then the catalog's limits for it). An example that would be answered 4xx is a
defect a newcomer meets first; an example meant to fail says so on its line (`# 4xx ...`).
"""

from __future__ import annotations

import json
import re
import shlex

import pytest

from imagegen_cli.generation_options import request_fields
from imagegen_cli.main import build_parser
from imagegen_core.catalog import DEFAULT_MODEL_ID, spec_for
from imagegen_core.families import family_for, limit_problems
from imagegen_core.models import parse_request
from tests.helpers import ROOT

DOCS = [ROOT / "README.md", ROOT / "cli" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CURL_BODY = re.compile(r"-d '(\{.*?\})'")
CLI_EXAMPLE = re.compile(r"(?:^\$ |\.venv/bin/|^|\$\()imagegen ((?:generate|submit) [^)#]*)")
MEANT_TO_FAIL = re.compile(r"#\s*(4\d\d|exit [1-9])\b")


def _examples() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if MEANT_TO_FAIL.search(line):
                continue
            where = f"{path.relative_to(ROOT)}:{number}"
            found += [(where, match.group(1)) for match in CURL_BODY.finditer(line)]
            command = CLI_EXAMPLE.search(line.strip())
            if command and "--file" not in command.group(1) and "<" not in command.group(1):
                found.append((where, command.group(1).strip()))
    return found


EXAMPLES = _examples()


def _body(example: str) -> dict[str, object]:
    if example.startswith("{"):
        return dict(json.loads(example))
    args = build_parser().parse_args(shlex.split(example))
    prompts = getattr(args, "prompts", None) or [getattr(args, "prompt", "a prompt")]
    return {"prompt": prompts[0], **request_fields(args)}


def test_the_docs_have_examples_to_check() -> None:
    # a regex that stopped matching would make the test below check nothing
    assert len([1 for _, example in EXAMPLES if example.startswith("{")]) >= 5
    assert len([1 for _, example in EXAMPLES if not example.startswith("{")]) >= 5


@pytest.mark.parametrize(("where", "example"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_each_example_request_is_valid_for_the_default_model(where: str, example: str) -> None:
    request = parse_request(_body(example))
    problems = limit_problems(request, spec_for(DEFAULT_MODEL_ID), family_for(DEFAULT_MODEL_ID))
    assert problems == [], f"{where}: {example}"
