"""The development toolchain: the lock matches the lists people edit, and the git hooks are `make lint`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import ROOT

LOCK = ROOT / "requirements-dev.lock"


def listed_pins(path: Path) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` in a requirements file, following ``-r`` includes."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(listed_pins(path.parent / line.removeprefix("-r ").strip()))
        elif line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: pin {line!r} exactly (the lock holds the rest)"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def locked_pins() -> dict[str, list[str]]:
    """``name -> [version, ...]`` of requirements-dev.lock (a package may be locked once per Python version)."""
    pins: dict[str, list[str]] = {}
    for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", LOCK.read_text(), re.M):
        pins.setdefault(canonicalize_name(name), []).append(version)
    return pins


def makefile_recipe(target: str) -> list[str]:
    """The commands of a Makefile target, with $(VENV) spelled out."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.M)
    assert match, f"no {target} target in the Makefile"
    return [line.strip().replace("$(VENV)", ".venv") for line in match.group(1).splitlines()]


def test_the_lock_holds_every_listed_dependency_at_its_listed_version() -> None:
    # given what people edit: the development list and, through it, the layer's list
    listed = listed_pins(ROOT / "requirements-dev.txt")
    assert {"pytest", "pydantic", "botocore"} <= set(listed)

    # when
    locked = locked_pins()

    # then each is locked at exactly that version (if not: `make lock`)
    stale = {name: (version, locked.get(name)) for name, version in listed.items() if [version] != locked.get(name)}
    assert stale == {}, "requirements-dev.lock is behind its lists: run `make lock`"


def test_every_locked_package_is_pinned_with_hashes() -> None:
    # given
    text = LOCK.read_text()

    # when
    entry = r"^[A-Za-z0-9_.-]+==\S+(?: ; [^\\\n]+)? \\\n(?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+"
    entries = re.findall(entry, text, re.M)

    # then every requirement line of the lock is one of those entries
    assert len(entries) == len(re.findall(r"^[A-Za-z]", text, re.M)) > 50


def test_the_git_hooks_run_the_commands_of_make_lint() -> None:
    # given
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]

    # when
    entries = [hook["entry"] for hook in repo["hooks"]]

    # then the same commands, from .venv, offline
    assert repo["repo"] == "local"
    assert {hook["language"] for hook in repo["hooks"]} == {"system"}
    assert entries == makefile_recipe("lint")


def test_make_test_measures_coverage_against_a_floor() -> None:
    # when
    (command,) = makefile_recipe("test")
    floor = re.search(r"^COVERAGE_FLOOR := (\d+)$", (ROOT / "Makefile").read_text(), re.M)

    # then
    assert "--cov " in f"{command} "
    assert "--cov-fail-under=$(COVERAGE_FLOOR)" in command
    assert floor is not None
    assert 50 <= int(floor.group(1)) <= 100
