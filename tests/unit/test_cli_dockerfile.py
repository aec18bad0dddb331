"""The CLI's container image, checked without a Docker engine: hadolint, and the properties we rely on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

CLI = ROOT / "cli"
DOCKERFILE = CLI / "Dockerfile"
PINNED = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
BUILD_TOOLS = ("gcc", "build-essential", "make", "g++", "clang", "python3-dev", "libc6-dev", "apt-get install")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages(text: str) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text()


def hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint is not installed (make venv installs it)")
def test_hadolint_finds_nothing_to_complain_about() -> None:
    # when
    done = subprocess.run([str(hadolint()), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    # then
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""


def test_the_build_has_a_builder_stage_and_a_final_stage(dockerfile: str) -> None:
    # when
    found = stages(dockerfile)
    # then
    assert len(found) >= 2
    assert found[0][0][1].endswith(" AS builder")
    assert any(keyword == "COPY" and "--from=builder" in rest for keyword, rest in found[-1])


def test_every_base_image_is_pinned_by_digest_to_the_same_python_slim(dockerfile: str) -> None:
    # when
    bases = {rest.split()[0] for keyword, rest in instructions(dockerfile) if keyword == "FROM"}
    # then
    assert len(bases) == 1
    base = bases.pop()
    assert PINNED.match(base), base
    assert base.startswith("python:3.13-slim")


def test_the_final_stage_runs_as_a_user_without_privileges(dockerfile: str) -> None:
    # when
    users = [rest for keyword, rest in stages(dockerfile)[-1] if keyword == "USER"]
    # then
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_the_final_stage_has_no_build_tools(dockerfile: str) -> None:
    # given
    final = " ".join(f"{keyword} {rest}" for keyword, rest in stages(dockerfile)[-1]).lower()
    # then
    for tool in BUILD_TOOLS:
        assert not re.search(rf"(^|[\s;&|]){re.escape(tool)}(\s|$)", final), tool


def test_the_entrypoint_is_the_cli_in_exec_form_and_python_writes_no_bytecode(dockerfile: str) -> None:
    # given
    final = stages(dockerfile)[-1]
    # when
    entrypoints = [rest for keyword, rest in final if keyword == "ENTRYPOINT"]
    environment = " ".join(rest for keyword, rest in final if keyword == "ENV")
    # then
    assert [json.loads(entry) for entry in entrypoints] == [["imagegen"]]
    assert "PYTHONDONTWRITEBYTECODE=1" in environment
    assert "PYTHONUNBUFFERED=1" in environment


def test_the_build_context_leaves_out_everything_but_the_package() -> None:
    # when
    rules = [line.strip() for line in (CLI / ".dockerignore").read_text().splitlines()]
    # then
    assert "*" in rules  # ignore everything, then let the package back in
    assert {"!pyproject.toml", "!README.md", "!requirements.lock", "!src/"} <= set(rules)
    assert "**/*.egg-info" in rules


def test_the_lock_pins_every_runtime_dependency_with_a_hash() -> None:
    # given
    text = (CLI / "requirements.lock").read_text()
    # when
    entries = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})$", text, re.M)
    # then
    assert {name for name, _, _ in entries} >= {"boto3", "botocore", "s3transfer", "jmespath", "urllib3"}
    assert len(entries) == len(re.findall(r"^[A-Za-z]", text, re.M))
