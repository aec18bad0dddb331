"""Every failure of the CLI is one clear line on stderr and a documented exit code, never a traceback.

The classes of issue 11, point 13: bad numbers in options, an output folder that cannot be used (found
before the API is paid for a generation), unusable URLs and keys, text the terminal or a file cannot
encode, server answers of the wrong shape, and server ids that would lead out of the output folder.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from imagegen_cli import api, generate
from imagegen_cli.main import main
from tests.helpers import REGION
from tests.unit.cli_http import CannedServer, success_body, tiny_png

pytestmark = pytest.mark.usefixtures("empty_working_directory")  # no .local/endpoints.json to find

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api_url(server: CannedServer) -> str:
    return f"{server.base}/generate-image"


def one_line_failure(err: str) -> str:
    """The failure report: exactly one line, ours, with no traceback (the line is returned)."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("imagegen: "), err
    return lines[0]


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


# --- numbers in options --------------------------------------------------------------------------------

BAD_NUMBERS = [
    *(["--n", value] for value in ("0", "-1", "6", "99999999999999999999999", "abc", "2.5", "nan", "")),
    *(["--seed", value] for value in ("-1", "4294967296", "9" * 5000, "nan", "1e3")),
    *(["--size", value] for value in ("0x512", "512x0", "-5x5", "1e3x1", "big", "100000x1")),
    *(["--cfg-scale", value] for value in ("0", "-1", "nan", "inf", "-inf", "1e999", "abc")),
    *(["--timeout", value] for value in ("0", "-1", "nan", "inf", "1e300", "abc", "3601")),
]


@pytest.mark.parametrize("option", BAD_NUMBERS, ids=lambda o: " ".join(o)[:40])
def test_a_bad_number_in_an_option_is_one_usage_line_and_no_request(
    option: list[str], server: CannedServer, api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    code = main(["generate", "a fox", "--api-url", api_url, *option])
    # then
    assert code == 2
    line = one_line_failure(capsys.readouterr().err)
    assert option[0] in line
    assert len(line) < 300
    assert server.received == []


@pytest.mark.parametrize("option", [["--limit", "-1"], ["--limit", "nan"], ["--scan", "0"], ["--scan", "-3"]])
def test_a_bad_number_in_a_status_option_is_one_usage_line(
    option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(["status", "--queue-url", "http://127.0.0.1:9/queue", *option])
    # then
    assert code == 2
    assert option[0] in one_line_failure(capsys.readouterr().err)


def test_a_usage_error_is_one_line_that_points_at_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["generate", "a fox", "--bogus"])
    # then
    assert code == 2
    line = one_line_failure(capsys.readouterr().err)
    assert "unrecognized arguments: --bogus" in line
    assert "--help" in line


# --- the output folder, checked before the API is paid ---------------------------------------------------


def unusable_folders(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a-file").write_text("not a folder")
    return {
        "an existing file": tmp_path / "a-file",
        "a folder under a file": tmp_path / "a-file" / "pictures",
        "a name too long for the file system": tmp_path / ("x" * 300),
        "a folder that cannot be created": Path("/sys/imagegen-test-out"),
        "a folder that cannot be written": Path("/sys"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "an existing file",
        "a folder under a file",
        "a name too long for the file system",
        "a folder that cannot be created",
        "a folder that cannot be written",
    ],
)
def test_an_output_folder_that_cannot_be_used_fails_before_any_request(
    case: str, server: CannedServer, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    out = unusable_folders(tmp_path)[case]
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    code = main(["generate", "a fox", "--api-url", api_url, "--out", str(out)])
    # then
    assert code == 2
    line = one_line_failure(capsys.readouterr().err)
    assert "--out" in line
    assert server.received == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_fails_before_any_request(
    server: CannedServer, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    out = tmp_path / "read-only"
    out.mkdir()
    out.chmod(0o555)
    # when
    code = main(["generate", "a fox", "--api-url", api_url, "--out", str(out)])
    # then
    assert code == 2
    assert "--out" in one_line_failure(capsys.readouterr().err)
    assert server.received == []


def test_an_output_folder_name_with_a_nul_character_is_a_usage_error(
    server: CannedServer, api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(["generate", "a fox", "--api-url", api_url, "--out", "pic\x00tures"])
    # then
    assert code == 2
    assert "--out" in one_line_failure(capsys.readouterr().err)
    assert server.received == []


def test_with_no_download_the_output_folder_is_not_needed(server: CannedServer, api_url: str, tmp_path: Path) -> None:
    # given an --out that could not be used
    (tmp_path / "a-file").write_text("x")
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    code = main(["generate", "a fox", "--api-url", api_url, "--out", "a-file", "--no-download"])
    # then
    assert code == 0


# --- URLs, keys and regions ------------------------------------------------------------------------------

BAD_URLS = [
    "http://",
    "http://[::1/generate-image",
    "http://127.0.0.1:99999/generate-image",
    "http://127.0.0.1:abc/generate-image",
    "http://" + "a" * 64 + ".example/generate-image",
    "http://a..b/generate-image",
    "http://127.0.0.1:9/générer",
    "http://exa mple.com/generate-image",
    "http://host\n/generate-image",
    "http://user:secret@127.0.0.1:9/generate-image",
    "ftp://127.0.0.1/generate-image",
    "127.0.0.1:9/generate-image",
    "http://127.0.0.1:9/" + "x" * 10_000,
]


@pytest.mark.parametrize("url", BAD_URLS, ids=lambda u: u[:40])
def test_an_unusable_api_url_is_one_usage_line_naming_the_flag(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["generate", "a fox", "--api-url", url])
    # then
    assert code == 2
    line = one_line_failure(capsys.readouterr().err)
    assert "--api-url" in line
    assert len(line) < 400


def test_an_unusable_api_url_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    monkeypatch.setenv("IMAGEGEN_API_URL", "http://[::1/generate-image")
    # when
    code = main(["generate", "a fox"])
    # then
    assert code == 2
    assert "IMAGEGEN_API_URL" in one_line_failure(capsys.readouterr().err)


def test_a_broken_variable_of_another_command_does_not_stop_this_one(
    server: CannedServer, api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a queue URL generate never uses
    monkeypatch.setenv("SQS_QUEUE_URL", "not a url")
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    code = main(["generate", "a fox", "--api-url", api_url, "--no-download"])
    # then
    assert code == 0


@pytest.mark.parametrize("key", ["ключ", "a\nb", "with space", "tab\tkey", "\x00"])
def test_an_api_key_that_http_cannot_carry_is_a_usage_error_before_any_request(
    key: str, server: CannedServer, api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(["generate", "a fox", "--api-url", api_url, "--api-key", key])
    # then
    assert code == 2
    line = one_line_failure(capsys.readouterr().err)
    assert "--api-key" in line
    assert key not in line  # a key is a secret: never echoed
    assert server.received == []


@pytest.mark.parametrize(
    "arguments",
    [
        ["--queue-url", "not a url"],
        ["--queue-url", "http://[::1/queue"],
        ["--queue-url", "http://127.0.0.1:9/queue", "--endpoint-url", "not a url"],
        ["--queue-url", "http://127.0.0.1:9/queue", "--endpoint-url", "http://127.0.0.1:99999"],
        ["--queue-url", "http://127.0.0.1:9/queue", "--region", "eu west!"],
        ["--queue-url", "http://127.0.0.1:9/queue", "--dlq-url", "file:///etc/passwd"],
    ],
    ids=lambda a: " ".join(a[-2:])[:40],
)
def test_unusable_aws_settings_are_one_usage_line_before_any_aws_call(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(["status", *arguments])
    # then
    assert code == 2
    assert arguments[-2] in one_line_failure(capsys.readouterr().err)


def test_a_service_endpoint_variable_botocore_rejects_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a variable that botocore reads itself
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "not a url")
    # when
    code = main(["submit", "a fox", "--queue-url", "http://127.0.0.1:9/queue"])
    # then
    assert code == 2
    assert "not a url" in one_line_failure(capsys.readouterr().err)


# --- text that cannot be encoded -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["generate", "submit"])
@pytest.mark.parametrize("option", [[], ["--negative"]])
def test_a_prompt_with_bytes_that_are_not_utf8_is_a_usage_error(
    command: str, option: list[str], server: CannedServer, api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given what Python makes of a non-UTF-8 byte in sys.argv (a lone surrogate)
    text = "a \udcff fox"
    prompt_and_option = ["a fox", *option, text] if option else [text]
    # when
    code = main([command, *prompt_and_option, "--api-url", api_url, "--queue-url", "http://127.0.0.1:9/q"])
    # then
    assert code == 2
    assert "UTF-8" in one_line_failure(capsys.readouterr().err)
    assert server.received == []


def test_a_prompts_file_that_is_not_utf8_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    (tmp_path / "prompts.txt").write_bytes(b"a fox\nun renard \xe0 la neige\n")
    # when
    code = main(["submit", "--file", "prompts.txt", "--queue-url", "http://127.0.0.1:9/q"])
    # then
    assert code == 2
    line = one_line_failure(capsys.readouterr().err)
    assert "prompts.txt" in line
    assert "line 2" in line


def run_cli(
    *arguments: str | bytes, env: dict[str, str], stdin: bytes = b"", cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    """`python -m imagegen_cli` in a subprocess (its own locale and stdio encoding)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "SQS_", "LC_", "LANG", "PYTHONIO"))}
    return subprocess.run(
        [sys.executable, "-m", "imagegen_cli", *arguments],
        env={**base, **env},
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_standard_input_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    # when
    done = run_cli(
        "submit", "--file", "-", "--queue-url", "http://127.0.0.1:9/q", env={}, stdin=b"a fox\n\xff\xfe\n", cwd=tmp_path
    )
    # then
    assert done.returncode == 2, done.stderr
    line = one_line_failure(done.stderr.decode())
    assert "standard input" in line
    assert "line 2" in line


@pytest.mark.parametrize(
    ("env", "folder"),
    [
        ({"PYTHONIOENCODING": "ascii"}, "bilder-über".encode()),
        ({"LC_ALL": "C"}, b"pictures-\xff"),
        ({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "ascii"}, b"pictures-\xff"),
    ],
    ids=["ascii stdout, non-ASCII folder", "C locale, non-UTF-8 folder", "ascii stdout, non-UTF-8 folder"],
)
def test_saved_paths_the_terminal_cannot_encode_are_still_printed(
    env: dict[str, str], folder: bytes, server: CannedServer, api_url: str, tmp_path: Path
) -> None:
    # given
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    done = run_cli("generate", "a fox", "--api-url", api_url, "--out", folder, env=env, cwd=tmp_path)
    # then
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr
    saved = tmp_path / os.fsdecode(folder)
    assert [path.read_bytes()[:4] for path in saved.iterdir()] == [b"\x89PNG"]
    assert done.stdout.strip()


def test_a_server_message_the_terminal_cannot_encode_is_still_one_line(
    server: CannedServer, api_url: str, tmp_path: Path
) -> None:
    # given
    body = {"error": {"code": "content_filtered", "message": "le renard a été bloqué ✋"}, "request_id": "r-1"}
    server.answer("/generate-image", 422, body)
    # when
    done = run_cli("generate", "a fox", "--api-url", api_url, env={"PYTHONIOENCODING": "ascii:strict"}, cwd=tmp_path)
    # then
    assert done.returncode == 3
    assert b"Traceback" not in done.stderr
    assert b"content_filtered" in done.stderr


@pytest.fixture
def bucket_with_unusual_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="images")["QueueUrl"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="unusual", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket="unusual", Key="team-a/sqs/renard-\u00e9t\u00e9/0.png", Body=b"\x89PNG")
        s3.put_object(Bucket="unusual", Key="team-a/sqs/\x1b[2Jclear/0.png", Body=b"\x89PNG")
        monkeypatch.setenv("SQS_QUEUE_URL", queue_url)
        monkeypatch.setenv("IMAGEGEN_BUCKET", "unusual")
        yield queue_url


def test_status_prints_keys_an_ascii_terminal_cannot_encode_without_control_characters(
    bucket_with_unusual_keys: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stdout that only takes ASCII, strictly
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii", errors="strict"))
    # when
    code = main(["status"])
    # then
    sys.stdout.flush()
    assert code == 0
    printed = raw.getvalue()
    assert b"renard-" in printed
    assert b"\x1b" not in printed


# --- answers of the wrong shape -------------------------------------------------------------------------

WRONG_ANSWERS = {
    "not JSON": b"Internal Server Error",
    "a JSON array": b"[1, 2]",
    "images that are not a list": b'{"images": "x"}',
    "images that are numbers": b'{"images": [1, 2]}',
    "no images at all": b'{"request_id": "r", "images": []}',
    "too many images": json.dumps({"images": [{"url": "http://127.0.0.1:9/x.png"}] * 50}).encode(),
    "deeply nested JSON": b"[" * 100_000,
    "a huge body": b'{"images": [], "padding": "' + b"x" * 3_000_000 + b'"}',
}


@pytest.mark.parametrize("case", list(WRONG_ANSWERS))
def test_a_200_answer_of_the_wrong_shape_is_one_api_error_line(
    case: str, server: CannedServer, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/generate-image", 200, WRONG_ANSWERS[case], {"Content-Type": "application/json"})
    # when
    code = main(["generate", "a fox", "--api-url", api_url])
    # then
    assert code == 3
    line = one_line_failure(capsys.readouterr().err)
    assert "bad_response" in line
    assert len(line) < 400
    assert files_under(tmp_path) == []


ERROR_ANSWERS = {
    "an HTML page with escapes": (503, b"<html>\n<title>Service Unavailable</title>\n<body>\x1b[31mdown\x1b[0m</body>"),
    "details that are not objects": (
        422,
        json.dumps({"error": {"code": "validation_error", "message": "m", "details": [1, "x", None]}}).encode(),
    ),
    "a huge message": (500, json.dumps({"error": {"code": "internal_error", "message": "m" * 100_000}}).encode()),
    "a code with a newline": (
        400,
        json.dumps({"error": {"code": "evil\nimagegen: all good", "message": "m"}}).encode(),
    ),
    "a request id that is an object": (
        500,
        json.dumps({"error": {"code": "internal_error", "message": "m"}, "request_id": {"a": [1]}}).encode(),
    ),
    "deeply nested JSON": (500, b"[" * 100_000),
}


@pytest.mark.parametrize("case", list(ERROR_ANSWERS))
def test_an_error_answer_of_any_shape_is_reported_without_its_raw_bytes(
    case: str, server: CannedServer, api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    status, body = ERROR_ANSWERS[case]
    server.answer("/generate-image", status, body, {"Content-Type": "text/html"})
    # when
    code = main(["generate", "a fox", "--api-url", api_url])
    # then
    assert code == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "\x1b" not in err
    assert err.startswith("imagegen: ")
    assert not any(line.startswith("imagegen: all good") for line in err.splitlines())
    assert max(len(line) for line in err.splitlines()) < 600


def test_fewer_images_than_asked_are_saved_and_reported_as_partial(
    server: CannedServer, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/generate-image", 200, success_body(server, 1))
    # when
    code = main(["generate", "a fox", "--api-url", api_url, "--n", "2"])
    # then
    assert code == 5
    assert "1 of the 2 images" in capsys.readouterr().err
    assert len(files_under(tmp_path / "out")) == 1


@pytest.mark.parametrize(
    ("status", "body", "declared_length", "reason"),
    [
        (200, b"GIF89a", None, "not a PNG"),
        (500, b"<Error><Code>InternalError</Code></Error>", None, "InternalError"),
        (200, tiny_png(8, 8), 10_000, "connection"),
        (200, b"", None, "not a PNG"),
    ],
    ids=["not a PNG", "S3 error", "cut short", "empty"],
)
def test_a_failed_download_keeps_no_partial_file_and_exits_with_5(
    status: int,
    body: bytes,
    declared_length: int | None,
    reason: str,
    server: CannedServer,
    api_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given
    answer = success_body(server, 1)
    server.answer("/bucket/team-a/api/req-1/0.png", status, body, declared_length=declared_length)
    server.answer("/generate-image", 200, answer)
    # when
    code = main(["generate", "a fox", "--api-url", api_url])
    # then
    assert code == 5
    err = capsys.readouterr().err
    assert reason in err
    assert "Traceback" not in err
    assert files_under(tmp_path) == []


def test_a_download_larger_than_any_image_is_cut_off(
    server: CannedServer,
    api_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a cap small enough for the test
    monkeypatch.setattr(api, "MAX_IMAGE_BYTES", 1000)
    answer = success_body(server, 1)
    server.answer("/bucket/team-a/api/req-1/0.png", 200, tiny_png(8, 8) + b"\x00" * 5000)
    server.answer("/generate-image", 200, answer)
    # when
    code = main(["generate", "a fox", "--api-url", api_url])
    # then
    assert code == 5
    assert "larger than" in capsys.readouterr().err
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x.png", "http://[::1/x.png", "", "http://127.0.0.1:99999/x.png"]
)
def test_an_image_url_that_is_not_usable_is_a_failed_download_not_a_crash(
    url: str, server: CannedServer, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    answer = success_body(server, 1)
    answer["images"][0]["url"] = url
    server.answer("/generate-image", 200, answer)
    # when
    code = main(["generate", "a fox", "--api-url", api_url])
    # then
    assert code == 5
    assert "Traceback" not in capsys.readouterr().err
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("command", [["submit", "a fox"], ["status"], ["status", "--dlq"]], ids=" ".join)
def test_an_endpoint_that_answers_like_no_aws_service_is_one_api_error_line(
    command: list[str], server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an --endpoint-url whose server answers 200 with JSON that no AWS call returns
    server.answer("/", 200, {"images": [], "unexpected": True}, {"Content-Type": "application/x-amz-json-1.0"})
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/images"
    # when
    code = main([*command, "--queue-url", queue, "--dlq-url", queue, "--endpoint-url", server.base])
    # then
    assert code == 3
    assert "endpoint" in one_line_failure(capsys.readouterr().err)


def test_a_smoke_test_whose_dead_letter_queue_answers_like_no_aws_service_is_one_api_error_line(
    server: CannedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an --endpoint-url whose server answers GetQueueAttributes with JSON that has no Attributes
    server.answer("/", 200, {"unexpected": True}, {"Content-Type": "application/x-amz-json-1.0"})
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/images"
    monkeypatch.setenv("IMAGEGEN_IMAGE_PREFIX", "team-a")
    settings = ["--queue-url", queue, "--dlq-url", queue, "--bucket", "images", "--endpoint-url", server.base]
    # when
    code = main(["smoke", "--api-url", f"{server.base}/generate-image", *settings])
    # then the documented exit code of an AWS error, before anything is generated
    assert code == 3
    line = one_line_failure(capsys.readouterr().err)
    assert "GetQueueAttributes has no Attributes" in line
    assert "endpoint" in line
    assert server.requested("/generate-image") == []


# --- server ids that would lead out of the output folder ------------------------------------------------

ESCAPING_IDS = ["../../evil", "/../../evil", "/etc/passwd", "..\\..\\evil", "ab\x00cd", ".", "..", "\n\x1b[2J", ""]


@pytest.mark.parametrize("request_id", ESCAPING_IDS, ids=repr)
def test_a_request_id_never_leads_out_of_the_output_folder(
    request_id: str, server: CannedServer, api_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    answer = success_body(server, 1)
    answer["request_id"] = request_id
    server.answer("/generate-image", 200, answer)
    (tmp_path / "out" / "a-fox-").mkdir(parents=True)  # a folder a naive join could walk through
    # when
    code = main(["generate", "a fox", "--api-url", api_url])
    # then
    assert code == 0, capsys.readouterr().err
    [saved] = [Path(line) for line in capsys.readouterr().out.splitlines()]
    assert saved.parent == Path("out")
    assert files_under(tmp_path) == [f"out/{saved.name}"]


# --- the one place failures are reported -----------------------------------------------------------------


def test_an_unexpected_failure_is_one_line_with_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a command that fails in a way nobody planned for
    def broken(*_: object) -> int:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(generate, "run", broken)
    # when
    code = main(["generate", "a fox", "--api-url", "http://127.0.0.1:9/generate-image"])
    # then
    assert code == 1
    line = one_line_failure(capsys.readouterr().err)
    assert "RuntimeError: something nobody expected" in line
    assert "IMAGEGEN_DEBUG=1" in line


def test_imagegen_debug_shows_the_traceback_of_an_unexpected_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    def broken(*_: object) -> int:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(generate, "run", broken)
    monkeypatch.setenv("IMAGEGEN_DEBUG", "1")
    # when
    code = main(["generate", "a fox", "--api-url", "http://127.0.0.1:9/generate-image"])
    # then
    assert code == 1
    assert "Traceback" in capsys.readouterr().err


def test_every_exit_code_is_documented_in_the_help_and_both_readmes(capsys: pytest.CaptureFixture[str]) -> None:
    # given
    from imagegen_cli.errors import ExitCode

    main(["--help"])
    documents = {
        "--help": capsys.readouterr().out,
        "cli/README.md": (ROOT / "cli" / "README.md").read_text(),
        "README.md": (ROOT / "README.md").read_text(),
    }
    # when
    missing = [
        f"{name}: {code.value}"
        for name, text in documents.items()
        for code in ExitCode
        if not any(line.strip().startswith((f"{code.value} ", f"| {code.value} |")) for line in text.splitlines())
    ]
    # then
    assert missing == []
