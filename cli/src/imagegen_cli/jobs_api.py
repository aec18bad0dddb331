"""The jobs routes of the API: ``POST /jobs``, ``GET /jobs/{job_id}`` and ``GET /jobs?limit=N&next=TOKEN``.

Each answer is checked for the shape the CLI relies on before anything is printed, waited on or downloaded:
whatever the server sends, a command either gets a ``Job`` / ``JobPage`` / receipt it can trust for its
types, or an ``ApiError`` ``bad_response`` (exit 3). Text fields are kept as sent and made printable where
they are shown; a job id must look like one before it goes into a URL or a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from imagegen_cli.api import ImagegenApi, checked_images
from imagegen_cli.console import one_line
from imagegen_cli.errors import ApiError, JobNotFound, JobsRouteMissing

STATUSES = ("queued", "running", "succeeded", "failed")
FINISHED = ("succeeded", "failed")
# SQS message ids and API Gateway request ids are UUIDs; this is looser, and still safe in a URL path
# (it cannot be "." or "..") and on a terminal.
JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
MAX_PAGE_BYTES = 8 * 1024 * 1024  # a page of jobs may carry presigned URLs: more than one answer's 1 MiB
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class JobImage:
    url: str
    key: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Job:
    """One job as the API describes it; ``answer`` is the JSON object it came in."""

    job_id: str
    status: str
    answer: dict[str, Any]
    images: tuple[JobImage, ...] = ()
    error_code: str | None = None
    error_message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def text(self, name: str) -> str | None:
        """A top-level text field (``source``, ``model_id``, ``created_at``...), or None when it is not text."""
        value = self.answer.get(name)
        return value if isinstance(value, str) else None

    @property
    def prompt(self) -> str | None:
        """The request's prompt; for a queue message that was no request, the excerpt of its body."""
        request = self.answer.get("request")
        prompt = request.get("prompt") if isinstance(request, dict) else None
        return prompt if isinstance(prompt, str) else self.text("body_excerpt")

    @property
    def attempts(self) -> int | None:
        value = self.answer.get("attempts")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class JobPage:
    jobs: tuple[Job, ...]
    next_token: str | None
    answer: dict[str, Any]


def job_id_problem(job_id: str) -> str | None:
    """Why ``job_id`` cannot be a job id, or None."""
    if JOB_ID.fullmatch(job_id):
        return None
    return "a job id is 1 to 128 letters, digits, '-', '_', '.' or ':', starting with a letter or digit"


class JobsApi:
    """The jobs routes of one deployment: its base URL (the stage's) and API key."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.jobs_url = self.base_url + "/jobs"
        self._api = ImagegenApi(self.jobs_url, api_key, timeout)  # checks the URL and the key

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /jobs``: the receipt (its ``job_id`` checked), or the API's error (422 for a bad body)."""
        try:
            answer = self._api.call("POST", self.jobs_url, body)
        except ApiError as error:
            raise self._route_error(error) from None
        receipt = _object(answer, "the answer to POST /jobs")
        _checked_id(receipt.get("job_id"), "the answer to POST /jobs", receipt)
        return receipt

    def get(self, job_id: str) -> Job:
        """``GET /jobs/{job_id}``: the job; JobNotFound for a 404."""
        url = f"{self.jobs_url}/{quote(job_id, safe='')}"
        try:
            answer = self._api.call("GET", url)
        except ApiError as error:
            if error.status == 404:
                error.api_url = self.base_url
                raise JobNotFound(job_id, error) from None
            raise
        job = parse_job(answer, f"the answer for job {job_id}")
        if job.job_id != job_id:
            raise ApiError("bad_response", f"asked for job {job_id}, the answer is job {job.job_id}", status=200)
        return job

    def page(self, limit: int, next_token: str | None = None) -> JobPage:
        """``GET /jobs?limit=N[&next=TOKEN]``: one page of jobs, newest first, and the next page's token."""
        query = {"limit": str(limit), **({"next": next_token} if next_token is not None else {})}
        try:
            answer = self._api.call("GET", f"{self.jobs_url}?{urlencode(query)}", max_bytes=MAX_PAGE_BYTES)
        except ApiError as error:
            raise self._route_error(error) from None
        return parse_page(answer)

    def _route_error(self, error: ApiError) -> ApiError:
        """A 404 from /jobs itself is not a missing job: the API has no jobs route (or the URL is another's)."""
        if error.status != 404:
            return error
        error.api_url = self.base_url
        return JobsRouteMissing(error)


def parse_job(answer: Any, what: str) -> Job:
    """A job from its JSON object; ApiError ``bad_response`` when it lacks what the CLI relies on."""
    job = _object(answer, what)
    job_id = _checked_id(job.get("job_id"), what, job)
    status = job.get("status")
    if status not in STATUSES:
        raise _bad(f"{what} has the status {one_line(status, 40)!r}, not one of {', '.join(STATUSES)}", job)
    images = _images(job.get("images"), what, job) if status == "succeeded" else ()
    code = message = None
    if status == "failed":
        error = job.get("error")
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), str) and error.get("code") else "unknown_error"
        message = error.get("message") if isinstance(error.get("message"), str) else "the job gives no reason"
    return Job(job_id, status, job, images, code, message)


def parse_page(answer: Any) -> JobPage:
    """A page of the listing. Its jobs are summaries: only a usable ``job_id`` and a text ``status`` are
    required of each (the listing shows them; it waits on nothing and downloads nothing)."""
    what = "the answer to GET /jobs"
    page = _object(answer, what)
    jobs = page.get("jobs")
    if not isinstance(jobs, list):
        raise _bad(f"{what} has no job list: {one_line(page, 100)}", page)
    token = page.get("next")
    if token is not None and not (isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH):
        raise _bad(f"{what} has a 'next' that is not a page token: {one_line(token, 60)}", page)
    summaries = []
    for index, item in enumerate(jobs, start=1):
        job = _object(item, f"job {index} of {what}")
        status = job.get("status")
        if not isinstance(status, str):
            raise _bad(f"job {index} of {what} has no status: {one_line(job, 100)}", page)
        summaries.append(Job(_checked_id(job.get("job_id"), f"job {index} of {what}", page), status, job))
    return JobPage(tuple(summaries), token, page)


def _images(images: Any, what: str, job: dict[str, Any]) -> tuple[JobImage, ...]:
    """A succeeded job's images: 1 to 5 objects, each with a URL (whether it downloads is seen per image),
    with their key and size when those are usable."""
    found = []
    for image in checked_images(images, what, "has succeeded with", body=job):
        key = image.get("key")
        width, height = _size(image.get("width")), _size(image.get("height"))
        found.append(JobImage(image["url"], key if isinstance(key, str) else None, width, height))
    return tuple(found)


def _object(answer: Any, what: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise _bad(f"{what} is not a JSON object: {one_line(answer, 100)}", answer)
    return answer


def _checked_id(job_id: Any, what: str, body: Any) -> str:
    if not isinstance(job_id, str) or job_id_problem(job_id):
        raise _bad(f"{what} has no usable job_id: {one_line(job_id, 60)}", body)
    return job_id


def _bad(message: str, body: Any) -> ApiError:
    return ApiError("bad_response", message, status=200, body=body)


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**6 else None
