"""The `imagegen` command line: parse, resolve the configuration, run one command, map failures to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from imagegen_cli import __version__, generate, job, jobs, preflight, smoke, status, submit
from imagegen_cli.aws import read_stack_settings
from imagegen_cli.config import Flags, resolve
from imagegen_cli.console import tolerate_unencodable_output
from imagegen_cli.errors import EXIT_CODE_MEANINGS, ExitCode, UsageError
from imagegen_cli.failures import run_reporting_failures

COMMANDS = ("generate", "submit", "job", "jobs", "status", "preflight", "smoke")

EPILOG = """\
configuration (first found wins):
  flags (--api-url, --api-key, --queue-url, --dlq-url, --bucket, --region, --endpoint-url)
  > environment (IMAGEGEN_API_URL, IMAGEGEN_API_KEY, SQS_QUEUE_URL, IMAGEGEN_DLQ_URL, IMAGEGEN_BUCKET,
    AWS_REGION, AWS_ENDPOINT_URL and the other standard AWS_* variables)
  > the outputs of a deployed stack (--stack NAME or IMAGEGEN_STACK)
  > the local stack's .local/endpoints.json (--endpoints FILE), used when no stack is named
the job commands (generate --async, job, jobs) take the API's base URL: the stack's ApiBaseUrl output or
the endpoints file's api_base_url, else the API URL without its /generate-image

follow a job: imagegen generate --async "a red fox"   (or imagegen submit ...: each message is a job)
              imagegen job ID --wait --out DIR         (exit 0 succeeded, 3 failed, 7 still running)

a first argument that is not a command or an option is a prompt to submit:
  imagegen "a red fox"   is   imagegen submit "a red fox"

every failure is reported on stderr as "imagegen: <what failed>" (then what to do, if anything), with
exit codes:
""" + "\n".join(f"  {code.value}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items())


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints raised as a UsageError: reported like every other failure, in one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code (see EPILOG). Never raises, never prints a traceback unasked."""
    tolerate_unencodable_output()
    arguments = default_to_submit(list(sys.argv[1:] if argv is None else argv))
    return run_reporting_failures(lambda: _run(arguments))


def _run(arguments: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as done:  # --help or --version, already printed
        return done.code if isinstance(done.code, int) else ExitCode.USAGE
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    wants = getattr(args, "wants", ())
    settings = resolve(_flags(args), os.environ, args.needs, read_stack_settings, wants=wants)
    return int(args.run(args, settings))


def default_to_submit(arguments: list[str]) -> list[str]:
    """`imagegen "a prompt" ...` means `imagegen submit "a prompt" ...` (the container's default)."""
    if arguments and arguments[0] not in COMMANDS and not arguments[0].startswith("-"):
        return ["submit", *arguments]
    return arguments


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="imagegen",
        description=(
            "Generate images with the imagegen service: now over HTTP, or later as a job (through the queue)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imagegen {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    parents = [_configuration_options()]
    for command in (generate, submit, job, jobs, status, preflight, smoke):
        command.add_parser(subparsers, parents)
    return parser


def _configuration_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("configuration (flags > environment > --stack outputs > endpoints file)")
    group.add_argument(
        "--api-url", metavar="URL", help="the API's POST URL (.../generate-image) or its base URL [IMAGEGEN_API_URL]"
    )
    group.add_argument("--api-key", metavar="KEY", help="API key [IMAGEGEN_API_KEY]")
    group.add_argument("--queue-url", metavar="URL", help="SQS queue URL [SQS_QUEUE_URL]")
    group.add_argument("--dlq-url", metavar="URL", help="dead-letter queue URL [IMAGEGEN_DLQ_URL]")
    group.add_argument("--bucket", metavar="NAME", help="image bucket [IMAGEGEN_BUCKET]")
    group.add_argument("--region", metavar="REGION", help="AWS region [AWS_REGION]")
    group.add_argument("--endpoint-url", metavar="URL", help="AWS endpoint, e.g. a local emulation [AWS_ENDPOINT_URL]")
    group.add_argument("--stack", metavar="NAME", help="read the settings from this deployed stack [IMAGEGEN_STACK]")
    group.add_argument(
        "--endpoints", type=Path, metavar="FILE", help="the local stack's endpoints (default .local/endpoints.json)"
    )
    return parent


def _flags(args: argparse.Namespace) -> Flags:
    return Flags(
        api_url=args.api_url,
        api_key=args.api_key,
        queue_url=args.queue_url,
        dlq_url=args.dlq_url,
        bucket=args.bucket,
        region=args.region,
        endpoint_url=args.endpoint_url,
        stack=args.stack,
        endpoints=args.endpoints,
    )


if __name__ == "__main__":
    raise SystemExit(main())
