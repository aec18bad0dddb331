"""The core layer: built by core/Makefile for the functions' runtime, and shipped with its bytecode.

`make -n` prints the commands `sam build` has make run (with ARTIFACTS_DIR set) without running them, so
these tests read the build as it would happen, offline. scripts/check-template runs the real build and
checks what it produced (an aarch64 pydantic-core, a .pyc for every module).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any

import pytest

from tests.helpers import ROOT

CORE = ROOT / "core"
ARTIFACTS_DIR = "/tmp/sam-build/CoreLayer"  # never created: make -n only prints
LAMBDA_ARCHITECTURE_OF_WHEELS = {"arm64": "aarch64", "x86_64": "x86_64"}


def make_dry_run(*variables: str) -> subprocess.CompletedProcess[str]:
    """`make -n build-CoreLayer` in core/ as sam build runs it, with only the variables given."""
    environment = {name: value for name, value in os.environ.items() if name not in ("ARTIFACTS_DIR", "MAKEFLAGS")}
    return subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(CORE), "build-CoreLayer", *variables],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


@pytest.fixture(scope="module")
def build_commands() -> list[list[str]]:
    """The commands of the layer's build, in order, each split into its words."""
    result = make_dry_run(f"ARTIFACTS_DIR={ARTIFACTS_DIR}")
    assert result.returncode == 0, result.stderr
    joined = result.stdout.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def command_running(commands: list[list[str]], *words: str) -> list[str]:
    [command] = [command for command in commands if all(word in command for word in words)]
    return command


def test_the_core_layer_is_built_by_its_makefile_for_arm64(template: dict[str, Any]) -> None:
    # given the layer as written
    layer = template["Resources"]["CoreLayer"]

    # then sam build runs core/Makefile (which has the layer's target) for the functions' architecture
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "core/"
    assert "\nbuild-CoreLayer:" in (CORE / "Makefile").read_text()
    assert layer["Properties"]["CompatibleRuntimes"] == [template["Globals"]["Function"]["Runtime"]]
    assert layer["Properties"]["CompatibleArchitectures"] == template["Globals"]["Function"]["Architectures"]


def test_the_layer_installs_the_wheels_of_the_functions_runtime_and_architecture(
    template: dict[str, Any], build_commands: list[list[str]]
) -> None:
    # given the runtime and architecture the functions run on
    version = template["Globals"]["Function"]["Runtime"].removeprefix("python")  # "3.13"
    [architecture] = template["Globals"]["Function"]["Architectures"]

    # when the layer's pip install is read
    pip = command_running(build_commands, "pip", "install")

    # then it installs core/requirements.txt into the layer's python/ as wheels built for that runtime,
    # with a pip of that Python, whatever machine runs the build
    assert pip[0] == f"python{version}"
    assert pip[pip.index("--python-version") + 1] == version
    assert pip[pip.index("--implementation") + 1] == "cp"
    assert pip[pip.index("--platform") + 1] == f"manylinux2014_{LAMBDA_ARCHITECTURE_OF_WHEELS[architecture]}"
    assert "--only-binary=:all:" in pip
    assert pip[pip.index("--target") + 1] == f"{ARTIFACTS_DIR}/python"
    assert pip[pip.index("-r") + 1] == "requirements.txt"


def test_the_layer_is_compiled_last_into_bytecode_that_lambda_loads_without_checking_the_sources(
    template: dict[str, Any], build_commands: list[list[str]]
) -> None:
    # given the runtime's Python
    python = template["Globals"]["Function"]["Runtime"]  # "python3.13"

    # when the last command of the build is read
    compile_all = build_commands[-1]

    # then that Python compiles the whole layer (core included) with hashes Lambda does not check against
    # the read-only, timestamp-less sources, recording the paths Lambda sees
    assert compile_all[:3] == [python, "-m", "compileall"]
    assert compile_all[compile_all.index("--invalidation-mode") + 1] == "unchecked-hash"
    assert compile_all[compile_all.index("-p") + 1] == "/opt/python"
    assert compile_all[compile_all.index("-s") + 1] == compile_all[-1] == f"{ARTIFACTS_DIR}/python"
    copy_core = command_running(build_commands, "cp", "imagegen_core")
    assert build_commands.index(copy_core) < len(build_commands) - 1


def test_the_layer_drops_the_bytecode_of_the_python_that_ran_the_tests(build_commands: list[list[str]]) -> None:
    # when the build's clean-up is read
    clean_up = command_running(build_commands, "find", "__pycache__")

    # then it runs after the core is copied and before the compilation, so no bytecode of another Python ships
    copy_core = command_running(build_commands, "cp", "imagegen_core")
    compile_all = build_commands[-1]
    assert clean_up[1] == f"{ARTIFACTS_DIR}/python"
    assert build_commands.index(copy_core) < build_commands.index(clean_up) < build_commands.index(compile_all)


def test_the_layer_build_refuses_to_run_without_sam_builds_artifacts_dir() -> None:
    # when make is run without ARTIFACTS_DIR (its rm -rf would then target /python)
    result = make_dry_run()

    # then it stops before any command, naming the variable
    assert result.returncode != 0
    assert "ARTIFACTS_DIR is not set" in result.stderr
    assert "rm -rf" not in result.stdout
