"""`imagegen jobs`: the recent jobs, newest first, one line each; ``--all`` follows the pages to the end.

Pages are asked for ``PAGE_SIZE`` jobs at most (the API's largest). A page token is passed back as the API
gave it; a token the API gives twice would loop for ever, so the listing stops there (bad_response), and
it never reads more than ``MAX_PAGES`` pages.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from imagegen_cli.config import Settings, api_base_url
from imagegen_cli.console import one_line
from imagegen_cli.errors import ApiError, ExitCode, PartialFailure, UsageError
from imagegen_cli.jobs_api import Job, JobsApi
from imagegen_cli.option_types import positive_number, whole_number

NEEDS = ()  # the API URL or the API base URL: api_base_url() says which is missing
WANTS = ("api_url", "api_base_url", "api_key")
DEFAULT_LIMIT = 20
MAX_LIMIT = 10_000
PAGE_SIZE = 100  # the API's largest page
MAX_PAGES = 1000
PROMPT_CHARS = 60


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "jobs",
        parents=parents,
        help="the recent jobs, newest first: created, status, id, prompt",
        description="List the recent jobs, newest first, one line each: created, status, job id, prompt.",
    )
    parser.add_argument(
        "--limit",
        type=whole_number(1, MAX_LIMIT),
        metavar="N",
        help=f"how many jobs, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT}; fetched {PAGE_SIZE} a page)",
    )
    parser.add_argument("--all", action="store_true", help="every job: follow the pages to the oldest")
    parser.add_argument("--json", action="store_true", help='print {"jobs": [...], "next": TOKEN|null} instead')
    parser.add_argument(
        "--timeout",
        type=positive_number(3600.0),
        default=30.0,
        metavar="SECONDS",
        help="HTTP timeout of each page, above 0 and at most 3600 (default 30)",
    )
    parser.set_defaults(run=run, needs=NEEDS, wants=WANTS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.all and args.limit is not None:
        raise UsageError("--all lists every job: leave out --limit")
    api = JobsApi(api_base_url(settings), settings.api_key, timeout=args.timeout)
    listed: list[dict[str, Any]] = []
    next_token = None
    count = 0
    for jobs, token in pages(api, None if args.all else (args.limit or DEFAULT_LIMIT)):
        count, next_token = count + len(jobs), token
        if args.json:
            listed.extend(job.answer for job in jobs)
        elif jobs:  # printed page by page, as they come
            print("\n".join(job_line(job) for job in jobs))
    if args.json:
        print(json.dumps({"jobs": listed, "next": next_token}, indent=2))
    elif count == 0:
        print("no jobs", file=sys.stderr)
    return ExitCode.OK


def pages(api: JobsApi, limit: int | None) -> Iterator[tuple[tuple[Job, ...], str | None]]:
    """The jobs page by page (at most ``limit`` in all; None: every one), each with the token of the page
    after it (None at the end)."""
    token: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        size = PAGE_SIZE if limit is None else min(limit, PAGE_SIZE)
        page = api.page(size, token)
        jobs = page.jobs if limit is None else page.jobs[:limit]
        limit = None if limit is None else limit - len(jobs)
        yield jobs, page.next_token
        if page.next_token is None or limit == 0:
            return
        if page.next_token in seen:
            raise ApiError("bad_response", "the API gave the same page token twice: stopped listing", status=200)
        seen.add(page.next_token)
        token = page.next_token
    raise PartialFailure(f"listed {MAX_PAGES} pages and stopped: the API says there are more")


def job_line(job: Job) -> str:
    """``created  status  id  prompt``: one printable line, the prompt cut short."""
    created = one_line(job.text("created_at") or "?", 40)
    prompt = one_line(job.prompt or "", PROMPT_CHARS)
    return f"{created}  {one_line(job.status, 20):<9}  {job.job_id}  {prompt}".rstrip()
