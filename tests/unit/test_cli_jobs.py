"""`imagegen generate --async`, `imagegen job ID` and `imagegen jobs` against a real HTTP exchange with the
canned server; `job --wait` polls on a fake clock (``fake_clock``), so no test waits for real."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from imagegen_cli.main import main
from tests.unit.cli_http import JOB_ID, CannedServer, job_body, tiny_png
from tests.unit.conftest import FakeClock

pytestmark = pytest.mark.usefixtures("empty_working_directory")  # no .local/endpoints.json to find

JOB_PATH = f"/jobs/{JOB_ID}"


def imagegen(server: CannedServer, *arguments: str) -> int:
    return main([*arguments, "--api-url", f"{server.base}/generate-image", "--api-key", "secret-key"])


def one_failure(err: str) -> str:
    assert err.startswith("imagegen: "), err
    assert "Traceback" not in err
    return err.splitlines()[0]


# --- generate --async ------------------------------------------------------------------------------------


def receipt(server: CannedServer, job_id: str = JOB_ID) -> dict[str, str]:
    url = f"{server.base}/jobs/{job_id}"
    return {"job_id": job_id, "status": "queued", "status_url": url}


def test_generate_async_posts_the_generate_body_to_jobs_and_prints_the_job_id(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/jobs", 202, receipt(server), {"Location": f"{server.base}{JOB_PATH}"})
    # when
    code = imagegen(server, "generate", "a red fox", "--async", "--n", "2", "--size", "512x768", "--seed", "7")
    # then
    assert code == 0
    out, err = capsys.readouterr()
    assert out == f"{JOB_ID}\n"
    assert f"imagegen job {JOB_ID} --wait" in err
    (post,) = server.posts()
    assert post.path == "/jobs"
    assert post.headers["x-api-key"] == "secret-key"
    body = {"prompt": "a red fox", "number_of_images": 2, "width": 512, "height": 768, "seed": 7}
    assert json.loads(post.body) == body


def test_generate_async_with_json_prints_the_answer_and_nothing_else_on_stdout(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/jobs", 202, receipt(server))
    # when
    code = imagegen(server, "generate", "a red fox", "--async", "--json", "--quiet")
    # then
    assert code == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == receipt(server)
    assert err == ""


def test_generate_async_explains_a_rejected_body_field_by_field_like_generate(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    details = [{"field": "width", "message": "must be one of 1024, 1152"}]
    error = {
        "error": {"code": "validation_error", "message": "invalid request", "details": details},
        "request_id": "r-9",
    }
    server.answer("/jobs", 422, error)
    # when
    code = imagegen(server, "generate", "a red fox", "--async", "--size", "1000x1000")
    # then
    assert code == 3
    err = capsys.readouterr().err
    assert "validation_error" in one_failure(err)
    assert "request id r-9" in err
    assert "--size (width): must be one of 1024, 1152" in err


def test_generate_async_refuses_out_before_sending_anything(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = imagegen(server, "generate", "a red fox", "--async", "--out", "pictures")
    # then
    assert code == 2
    assert "imagegen job ID --wait --out DIR" in one_failure(capsys.readouterr().err)
    assert server.received == []


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"status": "queued"}, id="no job id"),
        pytest.param({"job_id": "\x1b[31mred", "status": "queued"}, id="an escape sequence for an id"),
        pytest.param({"job_id": "../../etc", "status": "queued"}, id="a path for an id"),
        pytest.param(["not", "an", "object"], id="not an object"),
    ],
)
def test_generate_async_refuses_an_answer_without_a_usable_job_id(
    server: CannedServer, capsys: pytest.CaptureFixture[str], answer: object
) -> None:
    # given
    server.answer("/jobs", 202, answer)
    # when
    code = imagegen(server, "generate", "a red fox", "--async")
    # then
    assert code == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert "bad_response" in one_failure(err)
    assert "\x1b" not in err


def test_generate_async_against_a_stack_without_jobs_says_so(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given (what API Gateway answers for a route it does not have, through the template's gateway response)
    server.answer("/jobs", 404, {"error": {"code": "not_found", "message": "no such route; use POST /generate-image"}})
    # when
    code = imagegen(server, "generate", "a red fox", "--async")
    # then
    assert code == 3
    err = capsys.readouterr().err
    assert "has no jobs route" in one_failure(err)
    assert "predate jobs" in err


# --- where the jobs routes are ---------------------------------------------------------------------------


def test_the_jobs_routes_are_found_under_a_base_url_given_as_the_api_url(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 200, job_body(server, "queued"))
    # when
    code = main(["job", JOB_ID, "--api-url", server.base + "/", "--api-key", "k"])
    # then
    assert code == 0
    assert [request.path for request in server.received] == [JOB_PATH]


def test_the_endpoints_files_base_url_is_preferred_to_its_api_url(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an endpoints file whose API URL has no /generate-image to strip, and a base URL with a stage
    endpoints = {"api_url": f"{server.base}/somewhere-else", "api_base_url": f"{server.base}/Prod", "api_key": "k"}
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "endpoints.json").write_text(json.dumps(endpoints))
    server.answer(f"/Prod{JOB_PATH}", 200, job_body(server, "queued"))
    # when
    code = main(["job", JOB_ID])
    # then
    assert code == 0, capsys.readouterr().err
    assert server.received[0].path == f"/Prod{JOB_PATH}"
    assert server.received[0].headers["x-api-key"] == "k"


def test_an_api_url_flag_wins_over_the_endpoints_files_base_url(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    (tmp_path / ".local").mkdir()
    endpoints = {"api_url": "http://127.0.0.1:9/generate-image", "api_base_url": "http://127.0.0.1:9"}
    (tmp_path / ".local" / "endpoints.json").write_text(json.dumps(endpoints))
    server.answer(f"/v2{JOB_PATH}", 200, job_body(server, "queued"))
    # when
    code = main(["job", JOB_ID, "--api-url", f"{server.base}/v2/generate-image"])
    # then
    assert code == 0, capsys.readouterr().err
    assert server.received[0].path == f"/v2{JOB_PATH}"


def test_without_any_api_url_the_job_commands_say_how_to_give_one(capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["jobs"])
    # then
    assert code == 2
    err = capsys.readouterr().err
    assert "IMAGEGEN_API_URL" in err
    assert "ApiBaseUrl" in err


# --- job ID ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "running"])
def test_job_shows_an_unfinished_job_and_exits_0(
    server: CannedServer, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    # given
    server.answer(JOB_PATH, 200, job_body(server, status))
    # when
    code = imagegen(server, "job", JOB_ID)
    # then
    assert code == 0
    out = capsys.readouterr().out
    assert f"job       {JOB_ID}" in out
    assert f"status    {status}" in out
    assert "prompt    a lighthouse at dawn" in out
    assert "created   2026-11-22T02:01:17.123Z" in out
    assert server.received[0].method == "GET"
    assert server.received[0].headers["x-api-key"] == "secret-key"


def test_job_shows_a_succeeded_jobs_images_and_their_sizes(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 200, job_body(server, "succeeded", images=2))
    # when
    code = imagegen(server, "job", JOB_ID)
    # then
    assert code == 0
    out = capsys.readouterr().out
    assert "status    succeeded (attempt 1)" in out
    assert f"image 1   32x24  images/sqs/{JOB_ID}/0.png" in out
    assert f"image 2   32x24  images/sqs/{JOB_ID}/1.png" in out
    assert not [request for request in server.received if request.path.startswith("/bucket/")]  # no --out


def test_a_failed_job_exits_3_with_its_error_code_explained(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 200, job_body(server, "failed"))
    # when
    code = imagegen(server, "job", JOB_ID)
    # then
    assert code == 3
    out, err = capsys.readouterr()
    assert "error     content_filtered: the content filter blocked the prompt" in out
    assert one_failure(err) == (
        f"imagegen: job {JOB_ID} failed (content_filtered): the content filter blocked the prompt"
    )
    assert "Rephrase the prompt" in err


def test_a_failed_job_with_an_unknown_code_still_exits_3_naming_it(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = job_body(server, "failed", error={"code": "invalid_message", "message": "not a request"})
    server.answer(JOB_PATH, 200, body)
    # when
    code = imagegen(server, "job", JOB_ID)
    # then
    assert code == 3
    assert "failed (invalid_message): not a request" in one_failure(capsys.readouterr().err)


def test_job_with_json_prints_the_apis_answer(server: CannedServer, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    body = job_body(server, "running")
    server.answer(JOB_PATH, 200, body)
    # when
    code = imagegen(server, "job", JOB_ID, "--json")
    # then
    assert code == 0
    assert json.loads(capsys.readouterr().out) == body


def test_an_unknown_job_exits_3_and_says_where_job_ids_come_from(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    error = {"error": {"code": "not_found", "message": f"no job '{JOB_ID}'; jobs are kept 30 days"}, "request_id": "r1"}
    server.answer(JOB_PATH, 404, error)
    # when
    code = imagegen(server, "job", JOB_ID)
    # then
    assert code == 3
    err = capsys.readouterr().err
    assert one_failure(err).startswith(f"imagegen: no job {JOB_ID} (HTTP 404 not_found)")
    assert "request id r1" in err
    assert "imagegen jobs" in err


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        pytest.param(b"<html>oops</html>", "not JSON", id="not JSON"),
        pytest.param({"job_id": JOB_ID, "status": "done"}, "status 'done'", id="an unknown status"),
        pytest.param({"job_id": JOB_ID, "status": "succeeded"}, "succeeded with no images", id="no images"),
        pytest.param({"job_id": JOB_ID, "status": "succeeded", "images": [{"key": "k"}]}, "with a URL", id="no url"),
        pytest.param({"job_id": "another-job", "status": "queued"}, "the answer is job another-job", id="another job"),
        pytest.param({"status": "queued"}, "no usable job_id", id="no job id"),
    ],
)
def test_an_answer_the_cli_cannot_rely_on_is_a_bad_response(
    server: CannedServer, capsys: pytest.CaptureFixture[str], answer: object, phrase: str
) -> None:
    # given
    server.answer(JOB_PATH, 200, answer)
    # when
    code = imagegen(server, "job", JOB_ID, "--out", "pictures")
    # then
    assert code == 3
    line = one_failure(capsys.readouterr().err)
    assert "bad_response" in line
    assert phrase in line
    assert list(Path("pictures").iterdir()) == []


@pytest.mark.parametrize("given", ["", "../generate-image", "a/b", "..", "-x", "ünïcode", "a" * 129, "a b"])
def test_a_job_id_that_cannot_be_one_is_a_usage_error_and_nothing_is_asked(
    server: CannedServer, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    # when
    code = imagegen(server, "job", "--", given) if given.startswith("-") else imagegen(server, "job", given)
    # then
    assert code == 2
    assert "job id" in one_failure(capsys.readouterr().err)
    assert server.received == []


def test_a_job_id_goes_into_the_url_percent_encoded(server: CannedServer, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    server.answer("/jobs/abc%3A1", 200, job_body(server, "queued", job_id="abc:1"))
    # when
    code = imagegen(server, "job", "abc:1")
    # then
    assert code == 0, capsys.readouterr().err


# --- job ID --out ----------------------------------------------------------------------------------------


def test_job_out_saves_the_images_named_from_the_prompt_and_the_job_id(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 200, job_body(server, "succeeded", images=2))
    # when
    code = imagegen(server, "job", JOB_ID, "--out", "pictures")
    # then
    assert code == 0
    out, err = capsys.readouterr()
    assert out.split() == [
        "pictures/a-lighthouse-at-dawn-5b0a3c8e-1.png",
        "pictures/a-lighthouse-at-dawn-5b0a3c8e-2.png",
    ]
    for path in out.split():
        assert (tmp_path / path).read_bytes() == tiny_png(32, 24)
    assert "status    succeeded" in err  # stdout is for the paths


def test_job_out_never_names_a_file_after_the_servers_keys(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given keys and a prompt that would lead out of the folder if they made the names
    body = job_body(server, "succeeded", images=1)
    body["images"][0]["key"] = "../../escaped.png"
    body["request"]["prompt"] = "../../../escaped"
    server.answer(JOB_PATH, 200, body)
    # when
    code = imagegen(server, "job", JOB_ID, "--out", "pictures")
    # then
    assert code == 0
    assert [path.name for path in (tmp_path / "pictures").iterdir()] == ["escaped-5b0a3c8e-1.png"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["pictures"]


def test_job_out_that_cannot_be_a_folder_fails_before_anything_is_asked(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    (tmp_path / "taken").write_text("a file")
    # when
    code = imagegen(server, "job", JOB_ID, "--wait", "--out", "taken")
    # then
    assert code == 2
    assert "--out 'taken' exists and is not a folder" in one_failure(capsys.readouterr().err)
    assert server.received == []


def test_job_out_with_a_download_that_is_not_a_png_keeps_the_others_and_exits_5(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = job_body(server, "succeeded", images=2)
    server.answer(f"/bucket/images/sqs/{JOB_ID}/1.png", 200, b"<Error>AccessDenied</Error>")
    server.answer(JOB_PATH, 200, body)
    # when
    code = imagegen(server, "job", JOB_ID, "--out", "pictures")
    # then
    assert code == 5
    err = capsys.readouterr().err
    assert f"images/sqs/{JOB_ID}/1.png" in err
    assert [path.name for path in (tmp_path / "pictures").iterdir()] == ["a-lighthouse-at-dawn-5b0a3c8e-1.png"]


def test_job_out_of_an_unfinished_job_without_wait_exits_7_and_saves_nothing(
    server: CannedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 200, job_body(server, "running"))
    # when
    code = imagegen(server, "job", JOB_ID, "--out", "pictures")
    # then
    assert code == 7
    err = capsys.readouterr().err
    assert f"imagegen: job {JOB_ID} is running: no images to save yet" in err
    assert "Traceback" not in err
    assert list((tmp_path / "pictures").iterdir()) == []


def test_job_out_with_json_prints_the_answer_on_stdout_and_the_paths_on_stderr(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = job_body(server, "succeeded")
    server.answer(JOB_PATH, 200, body)
    # when
    code = imagegen(server, "job", JOB_ID, "--out", "pictures", "--json")
    # then
    assert code == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == body
    assert "saved pictures/a-lighthouse-at-dawn-5b0a3c8e-1.png" in err


# --- job ID --wait -----------------------------------------------------------------------------------------


def test_wait_polls_with_a_growing_delay_until_the_job_succeeds(
    server: CannedServer, fake_clock: FakeClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    answers = [(200, job_body(server, status)) for status in ("queued", "queued", "running", "running")]
    server.answer_in_turn(JOB_PATH, [*answers, (200, job_body(server, "succeeded"))])
    # when
    code = imagegen(server, "job", JOB_ID, "--wait", "--out", "pictures")
    # then
    assert code == 0
    out, err = capsys.readouterr()
    assert out.split() == ["pictures/a-lighthouse-at-dawn-5b0a3c8e-1.png"]
    assert fake_clock.sleeps == [1.0, 1.5, 2.25, 3.375]
    assert len(server.requested(JOB_PATH)) == 5
    assert f"job {JOB_ID}: queued" in err
    assert f"job {JOB_ID}: running (attempt 1)" in err
    assert err.count(f"job {JOB_ID}: queued") == 1  # each status once, not each poll


def test_wait_never_sleeps_more_than_8_seconds_at_a_time_nor_past_the_timeout(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 200, job_body(server, "running"))
    # when
    code = imagegen(server, "job", JOB_ID, "--wait", "--timeout", "60")
    # then
    assert code == 7
    assert max(fake_clock.sleeps) == 8.0
    assert sum(fake_clock.sleeps) == pytest.approx(60.0)
    assert len(server.requested(JOB_PATH)) == len(fake_clock.sleeps) + 1
    err = capsys.readouterr().err
    assert f"job {JOB_ID} is still running after 60 seconds of waiting" in err
    assert f"imagegen job {JOB_ID} --wait" in err


def test_wait_for_a_job_that_fails_exits_3_with_its_code(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer_in_turn(JOB_PATH, [(200, job_body(server, "running")), (200, job_body(server, "failed"))])
    # when
    code = imagegen(server, "job", JOB_ID, "--wait", "--quiet")
    # then
    assert code == 3
    err = capsys.readouterr().err
    assert f"job {JOB_ID} failed (content_filtered)" in one_failure(err)
    assert "running" not in err  # --quiet: no progress


def test_wait_tolerates_a_404_while_the_worker_has_not_seen_the_message_yet(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    not_yet = (404, {"error": {"code": "not_found", "message": "no job"}})
    server.answer_in_turn(JOB_PATH, [not_yet, not_yet, (200, job_body(server, "succeeded"))])
    # when
    code = imagegen(server, "job", JOB_ID, "--wait")
    # then
    assert code == 0, capsys.readouterr().err
    assert fake_clock.sleeps == [1.0, 1.5]


def test_wait_gives_up_on_a_job_that_stays_unknown_for_30_seconds(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 404, {"error": {"code": "not_found", "message": "no job"}})
    # when
    code = imagegen(server, "job", JOB_ID, "--wait", "--timeout", "600")
    # then
    assert code == 3
    assert f"no job {JOB_ID}" in one_failure(capsys.readouterr().err)
    assert 30 <= sum(fake_clock.sleeps) < 40


def test_wait_rides_out_a_throttle_honouring_its_retry_after(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    throttled = (429, {"error": {"code": "throttled", "message": "slow down"}})
    server.answer_in_turn(JOB_PATH, [throttled, (200, job_body(server, "succeeded"))])
    server.turns[JOB_PATH][0].headers["Retry-After"] = "5"
    # when
    code = imagegen(server, "job", JOB_ID, "--wait")
    # then
    assert code == 0, capsys.readouterr().err
    assert fake_clock.sleeps == [5.0]


def test_wait_stops_after_five_failures_in_a_row(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 503, {"error": {"code": "service_unavailable", "message": "try later"}})
    # when
    code = imagegen(server, "job", JOB_ID, "--wait")
    # then
    assert code == 3
    assert "service_unavailable" in one_failure(capsys.readouterr().err)
    assert len(server.requested(JOB_PATH)) == 5


def test_wait_does_not_retry_a_refused_api_key(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer(JOB_PATH, 403, {"error": {"code": "forbidden", "message": "missing or invalid API key"}})
    # when
    code = imagegen(server, "job", JOB_ID, "--wait")
    # then
    assert code == 3
    assert "refused the API key" in one_failure(capsys.readouterr().err)
    assert fake_clock.sleeps == []


def test_wait_with_json_prints_only_the_final_answer(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    done = job_body(server, "succeeded")
    server.answer_in_turn(JOB_PATH, [(200, job_body(server, "queued")), (200, done)])
    # when
    code = imagegen(server, "job", JOB_ID, "--wait", "--json")
    # then
    assert code == 0
    assert json.loads(capsys.readouterr().out) == done


def test_wait_with_json_that_times_out_prints_the_job_as_it_last_stood(
    server: CannedServer, fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a job that stays running
    running = job_body(server, "running")
    server.answer(JOB_PATH, 200, running)
    # when
    code = imagegen(server, "job", JOB_ID, "--wait", "--json", "--timeout", "5")
    # then a script reads its last state on stdout, and the exit code says it is not finished
    assert code == 7
    captured = capsys.readouterr()
    assert json.loads(captured.out) == running
    assert "still running after 5 seconds" in captured.err


# --- jobs --------------------------------------------------------------------------------------------------


def page(server: CannedServer, count: int, next_token: str | None, start: int = 0) -> dict[str, object]:
    jobs = [job_body(server, "queued", job_id=f"job-{start + index}") for index in range(count)]
    return {"jobs": jobs, "next": next_token}


def test_jobs_prints_one_line_per_job_in_the_order_the_api_gives(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    listing = page(server, 2, None)
    listing["jobs"][1] = job_body(server, "failed", job_id="job-1")  # type: ignore[index]
    server.answer("/jobs?limit=20", 200, listing)
    # when
    code = imagegen(server, "jobs")
    # then
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-11-22T02:01:17.123Z  queued     job-0  a lighthouse at dawn",
        "2026-11-22T02:01:17.123Z  failed     job-1  a lighthouse at dawn",
    ]


def test_jobs_cuts_prompts_short_and_shows_control_characters_as_escapes(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = job_body(server, "queued", request={"prompt": "\x1b[2Ja fox\nin the snow " + "x" * 200})
    server.answer("/jobs?limit=20", 200, {"jobs": [body], "next": None})
    # when
    imagegen(server, "jobs")
    # then
    (line,) = capsys.readouterr().out.splitlines()
    assert "\x1b" not in line
    prompt = line.split(f"{JOB_ID}  ")[1]
    assert prompt.startswith("\\x1b[2Ja fox in the snow x")
    assert len(prompt) == 60


def test_jobs_shows_the_body_of_a_queue_message_that_was_no_request(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    body = job_body(server, "failed", request={}, body_excerpt="{not json")
    server.answer("/jobs?limit=20", 200, {"jobs": [body], "next": None})
    # when
    imagegen(server, "jobs")
    # then
    assert capsys.readouterr().out.rstrip().endswith(f"{JOB_ID}  {{not json")


def test_jobs_limit_asks_for_that_many_and_follows_pages_of_at_most_100(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/jobs?limit=100", 200, page(server, 100, "t1"))
    server.answer("/jobs?limit=100&next=t1", 200, page(server, 100, "t2", start=100))
    server.answer("/jobs?limit=50&next=t2", 200, page(server, 50, "t3", start=200))
    # when
    code = imagegen(server, "jobs", "--limit", "250")
    # then
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 250
    assert "job-249" in lines[-1]
    assert [request.path for request in server.received][-1] == "/jobs?limit=50&next=t2"


def test_jobs_all_follows_next_until_the_last_page(server: CannedServer, capsys: pytest.CaptureFixture[str]) -> None:
    # given a token that needs encoding in a query string
    token = "eyJqb2JfaWQiOiJ4In0=/+"
    server.answer("/jobs?limit=100", 200, page(server, 3, token))
    server.answer("/jobs?limit=100&next=eyJqb2JfaWQiOiJ4In0%3D%2F%2B", 200, page(server, 2, None, start=3))
    # when
    code = imagegen(server, "jobs", "--all")
    # then
    assert code == 0
    assert len(capsys.readouterr().out.splitlines()) == 5
    query = parse_qs(urlsplit(server.received[-1].path).query)
    assert query == {"limit": ["100"], "next": [token]}


def test_jobs_all_stops_when_the_api_repeats_a_page_token(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    server.answer("/jobs?limit=100", 200, page(server, 1, "same"))
    server.answer("/jobs?limit=100&next=same", 200, page(server, 1, "same"))
    # when
    code = imagegen(server, "jobs", "--all")
    # then
    assert code == 3
    assert "same page token twice" in one_failure(capsys.readouterr().err)


def test_jobs_all_and_limit_together_are_a_usage_error(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = imagegen(server, "jobs", "--all", "--limit", "5")
    # then
    assert code == 2
    assert server.received == []


def test_jobs_with_json_prints_the_jobs_and_the_next_token(
    server: CannedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    listing = page(server, 2, "more")
    server.answer("/jobs?limit=2", 200, listing)
    # when
    code = imagegen(server, "jobs", "--limit", "2", "--json")
    # then
    assert code == 0
    assert json.loads(capsys.readouterr().out) == listing


def test_jobs_without_any_says_so_on_stderr(server: CannedServer, capsys: pytest.CaptureFixture[str]) -> None:
    # given
    server.answer("/jobs?limit=20", 200, {"jobs": [], "next": None})
    # when
    code = imagegen(server, "jobs")
    # then
    assert code == 0
    assert capsys.readouterr() == ("", "no jobs\n")


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"jobs": "none"}, id="no list"),
        pytest.param({"jobs": [{"status": "queued"}], "next": None}, id="a job without an id"),
        pytest.param({"jobs": [{"job_id": "j", "status": 3}], "next": None}, id="a status that is no text"),
        pytest.param({"jobs": [], "next": 42}, id="a next that is no token"),
    ],
)
def test_jobs_with_an_answer_it_cannot_rely_on_is_a_bad_response(
    server: CannedServer, capsys: pytest.CaptureFixture[str], answer: object
) -> None:
    # given
    server.answer("/jobs?limit=20", 200, answer)
    # when
    code = imagegen(server, "jobs")
    # then
    assert code == 3
    assert "bad_response" in one_failure(capsys.readouterr().err)
