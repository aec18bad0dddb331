"""Properties of the CLI over generated input (Hypothesis): whatever the command line or the server says,
`imagegen` ends with a documented exit code, one report on stderr, no traceback, and no file outside --out.

Everything stays on this machine: the API and the image URLs are a canned server on 127.0.0.1, AWS is
moto, and host names other than the loopback's do not resolve (so a generated URL never leaves it).
`make test` runs a bounded number of examples; `make test-deep` (HYPOTHESIS_PROFILE=deep) runs many more.
"""

from __future__ import annotations

import json
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

from imagegen_cli.console import one_line
from imagegen_cli.main import main
from imagegen_cli.output import OutputFolder, safe_file_name
from imagegen_cli.urls import url_problem
from tests.helpers import REGION
from tests.unit.cli_http import CannedServer, running_server, success_body, tiny_png

# What generated input may end in: 1 (a bug) and 130 (Ctrl-C) must never come out of it.
DOCUMENTED = {0, 2, 3, 4, 5}
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    with running_server() as httpd:
        yield httpd


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto with a queue and a bucket, named in the variables the CLI reads."""
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


# --- the command line ------------------------------------------------------------------------------------

OPTIONS = [
    "--n", "--size", "--seed", "--negative", "--cfg-scale", "--quality", "--out", "--json", "--no-download",
    "--timeout", "--quiet", "-q", "--file", "-f", "--limit", "--scan", "--prefix", "--dlq", "--api-url", "--api-key",
    "--queue-url", "--dlq-url", "--bucket", "--region", "--endpoint-url", "--stack", "--endpoints", "--help",
    "--version", "-h", "--", "-",
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
URL_OPTIONS = ["--api-url", "--queue-url", "--dlq-url", "--endpoint-url"]
TEXT_OPTIONS = ["--negative", "--quality", "--out", "--file", "--prefix", "--api-key", "--bucket", "--region"]
TEXT_OPTIONS += ["--stack", "--endpoints"]
FLAGS = ["--json", "--no-download", "--quiet", "--dlq"]


def argv_lists(urls: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """Command lines of any tokens at all, and command lines of a command with options of the right kind
    (numbers for numeric options, URLs for URL options) whose values are still anything."""
    token = st.one_of(
        st.sampled_from(["generate", "submit", "status"]),
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
        lambda name, prompt, options: [name, *([] if name == "status" else [prompt]), *(t for o in options for t in o)],
        st.sampled_from(["generate", "generate", "submit", "status"]),
        any_text,
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
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a server that generates and a queue that accepts, and any command line at all
    canned.routes.clear()
    canned.answer("/generate-image", 200, success_body(canned, 1))
    monkeypatch.setenv("IMAGEGEN_API_URL", f"{canned.base}/generate-image")
    argv = data.draw(argv_lists(url_values), label="argv")
    # when
    code = main(argv)
    # then
    err = capsys.readouterr().err
    event(f"exit code {code}")
    assert code in DOCUMENTED, err
    assert "Traceback" not in err
    assert "\x1b" not in err
    if code != 0:
        assert err.startswith(("imagegen: ", "usage: imagegen")), err


# --- answers from the API --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
download_bodies = st.one_of(
    st.just(tiny_png(4, 4)),
    st.binary(max_size=64).map(lambda tail: b"\x89PNG\r\n\x1a\n" + tail),
    st.binary(max_size=64).map(lambda head: b"\x89PNG\r\n\x1a\n" + head + PNG_END),
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
    data: st.DataObject, canned: CannedServer, loopback_only: None, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an API that answers anything, and image URLs that answer anything
    canned.routes.clear()
    status, body, headers = data.draw(api_answers(canned), label="answer")
    canned.answer("/generate-image", status, body, headers)
    out_dir = workdir / "out"
    before = {path for path in workdir.rglob("*")}
    arguments = data.draw(st.sampled_from([[], ["--json"], ["--n", "2"], ["--no-download"]]), label="options")
    # when
    code = main(["generate", "a fox", "--api-url", f"{canned.base}/generate-image", "--timeout", "5", *arguments])
    # then
    out, err = capsys.readouterr()
    event(f"exit code {code}")
    assert code in {0, 3, 4, 5}, err
    assert "Traceback" not in err
    assert "\x1b" not in err
    new_files = [path for path in set(workdir.rglob("*")) - before if path.is_file()]
    for path in new_files:
        assert path.parent == out_dir, path
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert path.read_bytes().endswith(PNG_END)
    if code == 0 and not arguments:
        printed = [Path(line) for line in out.splitlines()]
        assert printed
        assert all(path.parent == Path("out") and path.is_file() for path in printed)


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
