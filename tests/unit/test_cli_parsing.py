"""The command line itself: commands, options, the bare-prompt default and the usage exit code."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from imagegen_cli.generation_options import request_fields
from imagegen_cli.main import build_parser, default_to_submit, main

pytestmark = pytest.mark.usefixtures("empty_working_directory")  # no .local/endpoints.json to find


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["a red fox"], ["submit", "a red fox"]),
        (["a red fox", "--n", "2"], ["submit", "a red fox", "--n", "2"]),
        (["generate", "a red fox"], ["generate", "a red fox"]),
        (["status"], ["status"]),
        (["submit", "--file", "p.txt"], ["submit", "--file", "p.txt"]),
        (["--help"], ["--help"]),
        ([], []),
    ],
)
def test_a_first_argument_that_is_neither_command_nor_option_is_a_prompt_to_submit(
    given: list[str], expected: list[str]
) -> None:
    # when / then
    assert default_to_submit(given) == expected


def test_generate_options_become_the_request_fields_they_name() -> None:
    # given
    arguments = ["generate", "p", "--n", "3", "--size", "768x1280", "--seed", "0", "--negative", "fog"]
    arguments += ["--cfg-scale", "7.5", "--quality", "premium"]
    # when
    args = build_parser().parse_args(arguments)
    # then
    assert request_fields(args) == {
        "negative_prompt": "fog",
        "width": 768,
        "height": 1280,
        "number_of_images": 3,
        "cfg_scale": 7.5,
        "seed": 0,
        "quality": "premium",
    }
    assert args.out is None  # not given: generate saves into ./out, and --async accepts no --out


def test_options_left_out_are_left_out_of_the_request() -> None:
    # when
    args = build_parser().parse_args(["generate", "p"])
    # then
    assert request_fields(args) == {}


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["generate", "p", "--size", "big"], "is not WIDTHxHEIGHT"),
        (["generate", "p", "--n", "6"], "6 is not between 1 and 5"),
        (["generate", "p", "--n", "0"], "0 is not between 1 and 5"),
        (["generate", "p", "--seed", "-1"], "-1 is not between 0 and 4294967295"),
        (["generate", "p", "--quality", "ultra"], "invalid choice"),
        (["generate"], "the following arguments are required: prompt"),
        (["smoke", "--timeout", "nan"], "'nan' is not a finite number"),
        (["smoke", "--timeout", "-5"], "-5 is not above 0 and at most 3600"),
        (["paint", "--n", "2", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_a_malformed_command_line_exits_with_2_and_says_why(
    arguments: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(arguments)
    # then
    assert code == 2
    assert complaint in capsys.readouterr().err


def test_no_arguments_prints_the_help_and_exits_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main([])
    # then
    assert code == 2
    assert "commands:" in capsys.readouterr().err


def test_help_lists_the_commands_the_configuration_order_and_every_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when
    code = main(["--help"])
    # then
    assert code == 0
    out = capsys.readouterr().out
    for text in ("generate", "submit", "status", "IMAGEGEN_API_URL", "--stack", ".local/endpoints.json"):
        assert text in out
    for line in ("0  success", "2  usage", "3  API error", "4  network error", "5  partial failure"):
        assert line in out


def test_the_installed_command_exits_with_the_code_main_returns() -> None:
    # given the console script beside this Python, and a port where nobody listens
    command = Path(sys.executable).parent / "imagegen"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/generate-image"
    # when
    done = subprocess.run(
        [str(command), "generate", "a fox", "--api-url", url], capture_output=True, text=True, timeout=60, check=False
    )
    # then
    assert done.returncode == 4, done.stderr
    assert "connection refused" in done.stderr


def test_python_dash_m_runs_the_same_command_line() -> None:
    # when
    done = subprocess.run(
        [sys.executable, "-m", "imagegen_cli", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    # then
    assert done.returncode == 0
    assert done.stdout.startswith("imagegen ")
