"""Properties of the CLI over generated input (Hypothesis): whatever the command line or the server says,
`imagegen` ends with a documented exit code, one report on stderr, no traceback, and no file outside --out.
That holds for the job commands too (`generate --async`, `job ID [--wait] [--out]`, `jobs [--all]`), whose
waits run on a fake clock where time flies.

Everything stays on this machine: the API and the image URLs are a canned server on 127.0.0.1, AWS is
moto, and host names other than the loopback's do not resolve (so a generated URL never leaves it).
`make test` runs a bounded number of examples; `make test-deep` (HYPOTHESIS_PROFILE=deep) runs many more.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from imagegen_cli import job
from imagegen_cli.console import one_line
from imagegen_cli.jobs_api import JOB_ID
from imagegen_cli.main import main
from imagegen_cli.output import OutputFolder, safe_file_name
from imagegen_cli.urls import url_problem
from tests.helpers import PNG_SIGNATURE, REGION
from tests.unit.cli_http import CannedServer, job_body, running_server, success_body, tiny_png
from tests.unit.conftest import FakeClock

# What generated input may end in: 1 (a bug) and 130 (Ctrl-C) must never come out of it.
DOCUMENTED = {0, 2, 3, 4, 5, 7}
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# What a terminal would obey rather than show: C0 and C1 controls, DEL, bidirectional overrides.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    with running_server() as httpd:
        yield httpd


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto with a queue and a bucket, named in the variables the CLI reads. A generated --region that is
    no real region (``--region o``) gets an empty region of moto, as an endpoint would answer, rather than
    a KeyError from inside moto (MOTO_ALLOW_NONEXISTENT_REGION)."""
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    with mock_aws():
        queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="images")["QueueUrl"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="images", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        monkeypatch.setenv("SQS_QUEUE_URL", queue_url)
        monkeypatch.setenv("IMAGEGEN_BUCKET", "images")
        yield {"queue_url": queue_url}


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Host names other than the loopback's fail to resolve at once: no generated URL reaches the network."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "not resolved in the tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def flying_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """`job --wait` on a clock where each second slept is a minute: even --timeout 86400 is a few polls."""
    fake = FakeClock(speed=60.0)
    monkeypatch.setattr(job, "CLOCK", fake.clock())
    return fake


def assert_only_whole_pngs_added(workdir: Path, before: set[Path], out_dir: Path) -> None:
    """Every file that appeared under ``workdir`` is a whole PNG directly inside ``out_dir``."""
    for path in set(workdir.rglob("*")) - before:
        if path.is_file():
            assert path.parent == out_dir, path
            assert path.read_bytes().startswith(PNG_SIGNATURE)
            assert path.read_bytes().endswith(PNG_END)


def captured(capsys: pytest.CaptureFixture[bytes]) -> tuple[str, str]:
    """stdout and stderr as text. Read as bytes: the CLI writes a file name that is not UTF-8 (a generated
    --endpoints or --out) as its original bytes, which a text capture cannot decode."""
    out, err = capsys.readouterr()
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


# --- the command line ------------------------------------------------------------------------------------

OPTIONS = [
    "--n", "--size", "--seed", "--negative", "--cfg-scale", "--quality", "--out", "--json", "--no-download",
    "--timeout", "--quiet", "-q", "--file", "-f", "--limit", "--scan", "--prefix", "--dlq", "--api-url", "--api-key",
    "--queue-url", "--dlq-url", "--bucket", "--region", "--endpoint-url", "--stack", "--endpoints", "--help",
    "--version", "-h", "--", "-", "--wait", "--all", "--async", "job-1",
]  # fmt: skip

# Any character at all, surrogates included (what Python makes of argv bytes that are not UTF-8), but no
# path separators or "..": a generated --out or --file stays inside the test's folder.
any_text = st.text(st.characters(), max_size=30).filter(lambda t: "/" not in t and "\\" not in t and ".." not in t)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "0", "-0", "1_000", "0x10", "١٢", "9" * 400, "5 ", ""]),
)
sizes = st.builds(lambda w, h, x: f"{w}{x}{h}", numbers, numbers, st.sampled_from(["x", "X", "*", " x "]))


@pytest.fixture(scope="module")
def url_values(canned: CannedServer) -> st.SearchStrategy[str]:
    """URLs that work (the canned server), that nobody answers, and that are broken in every way."""
    closed = "http://127.0.0.1:9"
    return st.one_of(
        st.sampled_from([f"{canned.base}/generate-image", f"{canned.base}/nothing-here", closed, f"{closed}/q"]),
        st.builds(lambda t: f"http://{t}", any_text),
        st.builds(lambda t: f"{canned.base}/{t}", any_text),
        any_text,
    )


NUMERIC_OPTIONS = ["--n", "--seed", "--cfg-scale", "--timeout", "--limit", "--scan"]
COMMANDS = ["generate", "submit", "status", "job", "jobs"]
URL_OPTIONS = ["--api-url", "--queue-url", "--dlq-url", "--endpoint-url"]
TEXT_OPTIONS = ["--negative", "--quality", "--out", "--file", "--prefix", "--api-key", "--bucket", "--region"]
TEXT_OPTIONS += ["--stack", "--endpoints"]
FLAGS = ["--json", "--no-download", "--quiet", "--dlq", "--wait", "--all", "--async"]


def argv_lists(urls: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """Command lines of any tokens at all, and command lines of a command with options of the right kind
    (numbers for numeric options, URLs for URL options) whose values are still anything."""
    token = st.one_of(
        st.sampled_from(COMMANDS),
        st.sampled_from(OPTIONS),
        st.builds(lambda o, v: f"{o}={v}", st.sampled_from(OPTIONS), st.one_of(numbers, any_text)),
        st.builds(lambda t: f"--{t}", any_text),
        numbers,
        sizes,
        urls,
        any_text,
    )
    option = st.one_of(
        st.tuples(st.sampled_from(NUMERIC_OPTIONS), numbers),
        st.tuples(st.just("--size"), sizes),
        st.tuples(st.sampled_from(URL_OPTIONS), urls),
        st.tuples(st.sampled_from(TEXT_OPTIONS), any_text),
        st.tuples(st.sampled_from(FLAGS)),
    )
    command = st.builds(
        lambda name, prompt, options: [
            name,
            *([] if name in ("status", "jobs") else [prompt]),
            *(t for o in options for t in o),
        ],
        st.sampled_from(["generate", "generate", "submit", *COMMANDS]),
        st.one_of(any_text, st.just("job-1")),
        st.lists(option, max_size=4),
    )
    return st.one_of(st.lists(token, max_size=8), command, command)


@given(data=st.data())
@SHARED_FIXTURES
def test_any_command_line_ends_with_a_documented_code_and_one_report(
    data: st.DataObject,
    canned: CannedServer,
    url_values: st.SearchStrategy[str],
    aws: dict[str, str],
    loopback_only: None,
    workdir: Path,
    flying_clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # given a server that generates, queues jobs, knows job-1 (still running) and a queue that accepts, and
    # any command line at all
    canned.clear()
    canned.answer("/generate-image", 200, success_body(canned, 1))
    canned.answer("/jobs", 202, {"job_id": "job-1", "status": "queued", "status_url": f"{canned.base}/jobs/job-1"})
    canned.answer("/jobs/job-1", 200, job_body(canned, "running", job_id="job-1"))
    canned.answer("/jobs?limit=20", 200, {"jobs": [job_body(canned, "queued", job_id="job-1")], "next": None})
    monkeypatch.setenv("IMAGEGEN_API_URL", f"{canned.base}/generate-image")
    argv = data.draw(argv_lists(url_values), label="argv")
    # when
    code = main(argv)
    # then
    _, err = captured(capsysbinary)
    event(f"exit code {code}")
    assert code in DOCUMENTED, err
    assert "Traceback" not in err
    assert "\x1b" not in err
    if code != 0:  # progress (`job --wait`) may come before the report
        assert [line for line in err.splitlines() if line.startswith(("imagegen: ", "usage: imagegen"))], err


# --- answers from the API --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
download_bodies = st.one_of(
    st.just(tiny_png(4, 4)),
    st.binary(max_size=64).map(lambda tail: PNG_SIGNATURE + tail),
    st.binary(max_size=64).map(lambda head: PNG_SIGNATURE + head + PNG_END),
    st.binary(max_size=64),
)
statuses = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 403, 404, 413, 422, 429, 500, 502, 503, 504])


@st.composite
def image_entries(draw: st.DrawFn, server: CannedServer) -> Any:
    """One entry of the answer's image list: often well formed, with a URL that answers anything at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    path = f"/img/{draw(st.integers(0, 10**6))}"
    status = draw(st.just(200) | statuses)
    length = draw(st.none() | st.none() | st.integers(0, 200))
    server.answer(path, status, draw(st.just(tiny_png(4, 4)) | download_bodies), declared_length=length)
    url = draw(st.just(server.base + path) | st.just(server.base + path) | st.builds("http://{}".format, st.text()))
    entry = {"url": url, "s3_uri": draw(st.text(st.characters(), max_size=30)), "key": draw(json_values)}
    return entry


@st.composite
def api_answers(draw: st.DrawFn, server: CannedServer) -> tuple[int, bytes, dict[str, str]]:
    """What POST /generate-image could answer: near-successes, our error bodies, any JSON, any bytes."""
    status = draw(st.just(200) | statuses)
    near_success = {
        "request_id": draw(st.text(st.characters(), max_size=40) | json_values),
        "images": draw(st.lists(image_entries(server), max_size=6)),
    }
    error = {
        "error": {
            "code": draw(st.sampled_from(["validation_error", "throttled", "model_error"]) | st.text(max_size=20)),
            "message": draw(st.text(st.characters(), max_size=200)),
            "details": draw(json_values),
        },
        "request_id": draw(json_values),
    }
    body = draw(
        st.one_of(
            st.just(json.dumps(near_success).encode()),
            st.just(json.dumps(error).encode()),
            json_values.map(lambda value: json.dumps(value).encode()),
            st.binary(max_size=300),
            st.text(st.characters(), max_size=300).map(
                lambda t: f"<html><title>{t}</title></html>".encode("utf-8", "replace")
            ),
        )
    )
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/html", "image/png"]))}
    if draw(st.booleans()):
        headers["Retry-After"] = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30))
    return status, body, headers


@given(data=st.data())
@SHARED_FIXTURES
def test_any_api_answer_ends_with_a_documented_code_and_only_whole_pngs_inside_out(
    data: st.DataObject,
    canned: CannedServer,
    loopback_only: None,
    workdir: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # given an API that answers anything, and image URLs that answer anything
    canned.clear()
    status, body, headers = data.draw(api_answers(canned), label="answer")
    canned.answer("/generate-image", status, body, headers)
    out_dir = workdir / "out"
    before = set(workdir.rglob("*"))
    arguments = data.draw(st.sampled_from([[], ["--json"], ["--n", "2"], ["--no-download"]]), label="options")
    # when
    code = main(["generate", "a fox", "--api-url", f"{canned.base}/generate-image", "--timeout", "5", *arguments])
    # then
    out, err = captured(capsysbinary)
    event(f"exit code {code}")
    assert code in {0, 3, 4, 5}, err
    assert "Traceback" not in err
    assert "\x1b" not in err
    assert_only_whole_pngs_added(workdir, before, out_dir)
    if code == 0 and not arguments:
        printed = [Path(line) for line in out.splitlines()]
        assert printed
        assert all(path.parent == Path("out") and path.is_file() for path in printed)


# --- answers from the jobs routes ------------------------------------------------------------------------

JOB = "5b0a3c8e-8d47-4c1e-9f57-1f2a7f3c4d5e"


@st.composite
def job_answers(draw: st.DrawFn, server: CannedServer) -> tuple[int, bytes, dict[str, str]]:
    """What GET /jobs/{id} could answer: jobs in every status with any fields, our errors, anything at all."""
    near_job = {
        "job_id": draw(st.just(JOB) | st.just(JOB) | st.text(st.characters(), max_size=40) | json_values),
        "status": draw(st.sampled_from(["queued", "running", "succeeded", "failed"]) | json_values),
        "created_at": draw(st.text(st.characters(), max_size=40) | json_values),
        "attempts": draw(st.integers(-5, 10**20) | json_values),
        "request": draw(st.fixed_dictionaries({"prompt": st.text(st.characters(), max_size=80)}) | json_values),
        "images": draw(st.lists(image_entries(server), max_size=6) | json_values),
        "error": draw(
            st.fixed_dictionaries({"code": st.text(st.characters(), max_size=30), "message": st.text(max_size=60)})
            | json_values
        ),
    }
    status, body, headers = draw(api_answers(server))
    body = draw(st.just(json.dumps(near_job).encode()) | st.just(json.dumps(near_job).encode()) | st.just(body))
    if draw(st.integers(0, 5)) == 0:
        status, body = 404, json.dumps({"error": {"code": "not_found", "message": "no job"}}).encode()
    return status, body, headers


@given(data=st.data())
@SHARED_FIXTURES
def test_any_job_answer_ends_with_a_documented_code_and_only_whole_pngs_inside_out(
    data: st.DataObject,
    canned: CannedServer,
    loopback_only: None,
    workdir: Path,
    flying_clock: FakeClock,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # given a job that answers anything, poll after poll, and image URLs that answer anything
    canned.clear()
    answers = data.draw(st.lists(job_answers(canned), min_size=1, max_size=4), label="answers")
    canned.answer_in_turn(f"/jobs/{JOB}", [(status, body) for status, body, _ in answers])
    for turn, (_, _, headers) in zip(canned.turns[f"/jobs/{JOB}"], answers, strict=True):
        turn.headers.update(headers)
    out_dir = workdir / "out"
    before = set(workdir.rglob("*"))
    options = data.draw(
        st.lists(st.sampled_from(["--wait", "--json", "--quiet", "--out"]), unique=True), label="options"
    )
    options = [token for option in options for token in ([option, "out"] if option == "--out" else [option])]
    # when
    code = main(["job", JOB, "--api-url", f"{canned.base}/generate-image", "--timeout", "120", *options])
    # then
    out, err = captured(capsysbinary)
    event(f"exit code {code}")
    assert code in {0, 3, 4, 5, 7}, err
    assert "Traceback" not in err
    assert "\x1b" not in out + err
    if code != 0:
        assert "imagegen: " in err, err
    assert_only_whole_pngs_added(workdir, before, out_dir)
    if "--wait" in options and code == 0:
        assert all(0 < sleep <= 60 for sleep in flying_clock.sleeps)


@given(data=st.data())
@SHARED_FIXTURES
def test_any_job_listing_ends_with_a_documented_code_and_printable_lines(
    data: st.DataObject,
    canned: CannedServer,
    loopback_only: None,
    workdir: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # given pages that answer anything, and that may point at each other (or at themselves) with `next`
    canned.clear()
    tokens = st.sampled_from(["p2", "p3"]) | st.none() | json_values
    for path in ("/jobs?limit=100", "/jobs?limit=100&next=p2", "/jobs?limit=100&next=p3", "/jobs?limit=7"):
        jobs = [_json_or_none(body) for _, body, _ in data.draw(st.lists(job_answers(canned), max_size=3))]
        page = {"jobs": jobs, "next": data.draw(tokens)}
        status, body, headers = data.draw(api_answers(canned), label="instead")
        if data.draw(st.booleans(), label="a page"):
            status, body = 200, json.dumps(page).encode()
        canned.answer(path, status, body, headers)
    options = data.draw(st.sampled_from([["--all"], ["--limit", "7"], ["--all", "--json"], ["--limit", "7", "--json"]]))
    # when
    code = main(["jobs", "--api-url", canned.base, *options])
    # then
    out, err = captured(capsysbinary)
    event(f"exit code {code}")
    assert code in {0, 3, 4, 5}, err
    assert "Traceback" not in err
    assert "\x1b" not in out + err
    if code == 0 and "--json" not in options:
        lines = out.split("\n")[:-1]
        assert not [line for line in lines if CONTROL.search(line)]
        if "--limit" in options:
            assert len(lines) <= 7


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@given(data=st.data())
@SHARED_FIXTURES
def test_any_answer_to_generate_async_ends_with_a_documented_code_and_at_most_a_job_id(
    data: st.DataObject,
    canned: CannedServer,
    loopback_only: None,
    workdir: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # given
    canned.clear()
    receipt = {
        "job_id": data.draw(st.text(st.characters(), max_size=40) | st.just(JOB) | json_values, label="job_id"),
        "status": "queued",
    }
    status, body, headers = data.draw(api_answers(canned), label="answer")
    body = data.draw(st.just(json.dumps(receipt).encode()) | st.just(body))
    canned.answer("/jobs", data.draw(st.just(202) | st.just(status)), body, headers)
    # when
    code = main(["generate", "a fox", "--async", "--api-url", f"{canned.base}/generate-image", "--timeout", "5"])
    # then
    out, err = captured(capsysbinary)
    event(f"exit code {code}")
    assert code in {0, 3, 4}, err
    assert "Traceback" not in err
    if code == 0:
        assert JOB_ID.fullmatch(out.strip()), out
    else:
        assert out == ""
    assert [path for path in workdir.rglob("*")] == []


# --- the pieces that keep those properties --------------------------------------------------------------


@given(name=st.text(st.characters()))
def test_any_name_becomes_one_plain_file_name_inside_the_folder(name: str) -> None:
    # when
    safe = safe_file_name(name)
    # then
    assert safe not in ("", ".", "..")
    assert not safe.startswith(".")
    assert len(safe) <= 120
    assert set(safe) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert OutputFolder(Path("out")).path_for(name).parent == Path("out")


@given(text=st.text(st.characters()), limit=st.integers(10, 500))
def test_any_text_becomes_one_printable_line_within_the_limit(text: str, limit: int) -> None:
    # when
    line = one_line(text, limit)
    # then
    assert len(line) <= limit
    assert "\n" not in line
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in line)


@given(
    url=st.one_of(
        st.text(st.characters()),
        st.builds(lambda s, rest: f"{s}://{rest}", st.sampled_from(["http", "https", "HTTP", "ftp"]), st.text()),
    )
)
def test_a_url_that_passes_the_check_is_one_urllib_and_the_resolver_can_take(url: str) -> None:
    # when
    problem = url_problem(url)
    # then
    if problem is None:
        parts = urlsplit(url)
        assert parts.scheme.lower() in ("http", "https")
        assert parts.hostname
        assert parts.port is None or 0 < parts.port < 65536
        parts.hostname.encode("idna")
        urllib.request.Request(url)
    else:
        assert isinstance(problem, str)
