"""The one place a failure becomes what the user sees: a report on stderr and a documented exit code.

Every command runs inside ``run_reporting_failures``, so a command added later inherits it: raise a
``CliError`` subclass (ConfigError, ApiError, NetworkError, PartialFailure, ...) with a clear message,
let botocore's errors through (they are translated here), and anything unforeseen is still reported in
one line, exit code 1, with ``IMAGEGEN_DEBUG=1`` to see the traceback. Nothing prints a traceback unasked.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from imagegen_cli.aws import as_cli_error as aws_error
from imagegen_cli.console import one_line, printable
from imagegen_cli.errors import AwsError, CliError, ConfigError, ExitCode, InternalError, NetworkError, PartialFailure

MAX_REPORT_LINES = 25
MAX_LINE_LENGTH = 500


def run_reporting_failures(command: Callable[[], int]) -> int:
    """``command()``'s exit code; any failure it raises is reported once and becomes its exit code."""
    try:
        return int(command())
    except KeyboardInterrupt:
        print("imagegen: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:  # the point of this function: nothing escapes as a traceback
        return report_failure(error)


def report_failure(error: BaseException) -> int:
    """Print the report of ``error`` on stderr; its exit code."""
    failure = as_cli_error(error)
    if isinstance(error, BrokenPipeError):
        _silence_stdout()
    print(format_report(failure), file=sys.stderr)
    if isinstance(failure, InternalError) and os.environ.get("IMAGEGEN_DEBUG"):
        traceback.print_exception(error, file=sys.stderr)
    return int(failure.exit_code)


def as_cli_error(error: BaseException) -> CliError:
    """The CLI error (and so the exit code) any exception amounts to."""
    if isinstance(error, CliError):
        return error
    if isinstance(error, BotoCoreError | ClientError):
        return aws_error(error)
    if isinstance(error, ResponseParserError):  # not a BotoCoreError: something that is not AWS answered
        return AwsError(f"an AWS endpoint answered with something that is not an AWS answer: {one_line(error, 200)}")
    if isinstance(error, BrokenPipeError):
        return PartialFailure("standard output was closed before everything was printed (e.g. by `| head`)")
    if isinstance(error, ConnectionError | TimeoutError):
        return NetworkError(f"the connection failed: {one_line(error, 200)}")
    if isinstance(error, OSError) and error.filename is not None:
        return ConfigError(f"cannot use {one_line(error.filename, 200)}: {error.strerror or error}")
    return InternalError(error)


def format_report(error: CliError) -> str:
    """``imagegen: <what failed>`` and the explanation's further lines, printable and bounded."""
    lines = [printable(line) for line in error.explain().splitlines() or [""]]
    lines = [line if len(line) <= MAX_LINE_LENGTH else line[: MAX_LINE_LENGTH - 3] + "..." for line in lines]
    if len(lines) > MAX_REPORT_LINES:
        lines = [*lines[: MAX_REPORT_LINES - 1], f"... ({len(lines) - MAX_REPORT_LINES + 1} more lines)"]
    return "imagegen: " + "\n".join(lines)


def _silence_stdout() -> None:
    """The reader of stdout has gone: send what is left to /dev/null so that exiting does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
