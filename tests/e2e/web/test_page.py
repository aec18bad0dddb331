"""The web page as a person uses it, in Chromium, against the running local stack (``python -m local``): type a
prompt, see the picture; a refused prompt says why; markup in a prompt stays text; a phone's width; the keyboard
alone. Every test also checks that nothing went wrong in the browser and no request left 127.0.0.1."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.web.conftest import PageRecord
from tests.helpers import finished, png_size

pytestmark = pytest.mark.e2e

OpenPage = Callable[..., PageRecord]
Screenshot = Callable[[Page, str], Path]


def open_ready(open_page: OpenPage, stack: dict[str, Any], **options: Any) -> PageRecord:
    """The page at the stack's root URL, once it has read the model's settings and the recent jobs."""
    record = open_page(**options)
    record.page.goto(stack["web_page_url"])
    expect(record.page.locator("#status-text")).to_have_text(re.compile("^Ready"))
    return record


def unique(prompt: str) -> str:
    return f"{prompt} {uuid.uuid4().hex[:8]}"


def submit(page: Page, prompt: str) -> Locator:
    """Types the prompt, presses Generate; the job's card in the gallery."""
    page.fill("[name=prompt]", prompt)
    page.click("button[type=submit]")
    return job_card(page, prompt)


def job_card(page: Page, prompt: str) -> Locator:
    return page.locator("#gallery li.job").filter(has=page.locator(".prompt", has_text=prompt))


def loaded_size(image: Locator) -> tuple[int, int]:
    """The image's own size once the browser has it (decode() waits for it, and fails if it cannot load)."""
    width, height = image.evaluate(
        "async (img) => { await img.decode(); return [img.naturalWidth, img.naturalHeight]; }"
    )
    return width, height


def create_job(stack: dict[str, Any], prompt: str) -> str:
    request = urllib.request.Request(
        f"{stack['api_base_url']}/jobs",
        data=json.dumps({"prompt": prompt}).encode(),
        headers={"Content-Type": "application/json", "x-api-key": stack["api_key"]},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        job_id: str = json.loads(response.read())["job_id"]
    return job_id


def test_a_prompt_typed_on_the_page_becomes_an_image_that_opens_full_size_and_downloads(
    open_page: OpenPage, local_stack: dict[str, Any], screenshot: Screenshot
) -> None:
    # given the page, ready
    record = open_ready(open_page, local_stack)
    page = record.page
    screenshot(page, "1-ready")

    # when a prompt is submitted
    prompt = unique("a lighthouse at dawn, watercolor")
    card = submit(page, prompt)

    # then its job shows up at the top of the gallery, and succeeds with an image of the chosen size
    expect(page.locator("#gallery li.job").first).to_have_attribute(
        "data-job-id", card.get_attribute("data-job-id") or ""
    )
    expect(card).to_have_attribute("data-status", "succeeded")
    image = card.locator("img")
    assert loaded_size(image) == (1024, 1024)
    expect(page.locator("#status-text")).to_have_text(re.compile("^Done: 1 image"))
    screenshot(page, "2-image")

    # when its full-size link is followed, it opens the image itself in a new tab
    with record.context.expect_page() as opened:
        card.get_by_role("link", name=re.compile("^Full size")).click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == image.get_attribute("src")
    tab.close()

    # and its download link saves the PNG under a name of its own
    with page.expect_download() as started:
        card.get_by_role("link", name="Download").click()
    download = started.value
    assert re.fullmatch(r"imagegen-[0-9a-f-]+-0-seed-\d+\.png", download.suggested_filename)
    assert png_size(Path(download.path()).read_bytes()) == (1024, 1024)
    record.assert_clean()


def test_a_refused_prompt_shows_the_reason_in_plain_words(
    open_page: OpenPage, local_stack: dict[str, Any], screenshot: Screenshot
) -> None:
    # given (the stand-in's content filter refuses prompts with the word "forbidden")
    record = open_ready(open_page, local_stack)
    page = record.page

    # when
    card = submit(page, unique("a forbidden castle"))

    # then the job failed, its card and the alert say why, and there is no image
    expect(card).to_have_attribute("data-status", "failed")
    expect(card.locator(".reason")).to_contain_text("Refused by the content filter")
    expect(page.get_by_role("alert")).to_contain_text("Refused by the content filter")
    expect(card.locator("img")).to_have_count(0)
    screenshot(page, "3-refused")
    record.assert_clean()


def test_a_prompt_with_markup_is_shown_as_the_text_it_is(
    open_page: OpenPage, local_stack: dict[str, Any], screenshot: Screenshot
) -> None:
    # given
    record = open_ready(open_page, local_stack)
    page = record.page
    scripts_before = page.locator("script").count()
    prompt = unique('<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b> cat')

    # when
    card = submit(page, prompt)
    expect(card).to_have_attribute("data-status", "succeeded")

    # then the prompt reads exactly as typed, and none of it became an element or ran
    assert card.locator(".prompt").text_content() == prompt
    assert card.locator(".prompt *").count() == 0
    assert page.locator("script").count() == scripts_before
    assert page.evaluate("window.pwned") is None
    # and the same holds when the gallery is read back from GET /jobs
    page.click("#refresh")
    expect(job_card(page, prompt).locator(".prompt")).to_have_text(prompt)
    assert page.evaluate("window.pwned") is None
    screenshot(page, "4-markup-as-text")
    record.assert_clean()


def test_on_a_390_px_phone_nothing_scrolls_sideways(
    open_page: OpenPage, local_stack: dict[str, Any], screenshot: Screenshot
) -> None:
    # given a phone-sized window
    record = open_ready(open_page, local_stack, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = record.page

    # when a job with a long unbroken prompt is done
    card = submit(page, unique("a" * 120 + " on a phone"))
    expect(card).to_have_attribute("data-status", "succeeded")
    loaded_size(card.locator("img"))

    # then the page is no wider than the screen
    widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert widths == [390, 390, 390]
    screenshot(page, "5-phone")
    record.assert_clean()


def test_the_keyboard_alone_fills_in_the_prompt_and_submits_it(
    open_page: OpenPage, local_stack: dict[str, Any]
) -> None:
    # given
    record = open_ready(open_page, local_stack)
    page = record.page
    prompt = unique("a red fox in snow")

    # when Tab reaches the prompt, the prompt is typed, and Tab reaches the button that Enter presses
    focus_by_tab(page, "[name=prompt]")
    page.keyboard.type(prompt)
    focus_by_tab(page, "button[type=submit]")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    page.keyboard.press("Enter")

    # then
    card = job_card(page, prompt)
    expect(card).to_have_attribute("data-status", "succeeded")
    assert loaded_size(card.locator("img")) == (1024, 1024)
    record.assert_clean()


def focus_by_tab(page: Page, selector: str, most: int = 20) -> None:
    """Presses Tab until ``selector`` has the focus (at most ``most`` times)."""
    target = page.locator(selector)
    for _ in range(most):
        if target.evaluate("(element) => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{most} presses of Tab did not reach {selector}")


def test_the_gallery_lists_recent_jobs_newest_first_with_their_state_a_page_at_a_time(
    open_page: OpenPage, local_stack: dict[str, Any]
) -> None:
    # given more jobs than a page holds (twelve), made over the API: eleven older ones, then two, the second refused
    older = [unique(f"an older gull {index}") for index in range(11)]
    first, second = unique("an owl"), unique("a newer forbidden owl")
    for job_id in [create_job(local_stack, prompt) for prompt in [*older, first, second]]:
        finished(local_stack, job_id)

    # when the page is opened
    record = open_ready(open_page, local_stack)
    page = record.page

    # then the newest are listed, the newer first, each with its state in words
    prompts = page.locator("#gallery li.job .prompt").all_text_contents()
    assert len(prompts) == 12
    assert prompts.index(second) < prompts.index(first)
    expect(job_card(page, first).locator(".state")).to_have_text("Done")
    expect(job_card(page, second).locator(".state")).to_have_text("Failed")
    expect(job_card(page, second).locator(".reason")).to_contain_text("content filter")
    assert older[0] not in prompts

    # when the older ones are asked for, they follow, once each
    page.get_by_role("button", name="Show older jobs").click()
    expect(job_card(page, older[0])).to_have_count(1)
    ids = page.locator("#gallery li.job").evaluate_all("(cards) => cards.map((card) => card.dataset.jobId)")
    assert len(ids) > 12
    assert len(set(ids)) == len(ids)
    record.assert_clean()


def test_a_job_from_elsewhere_still_running_is_followed_to_its_end_in_plain_words(
    open_page: OpenPage, local_stack: dict[str, Any], screenshot: Screenshot
) -> None:
    # given a job made over the API that the stand-in throttles on every attempt (until it is dead-lettered)
    prompt = unique("throttle-me, a busy harbour")
    job_id = create_job(local_stack, prompt)

    # when the page is opened while it is still being retried
    record = open_ready(open_page, local_stack)
    card = job_card(record.page, prompt)
    assert card.get_attribute("data-status") in ("queued", "running")

    # then its card follows it, without a reload, to its failure, told in plain words
    expect(card).to_have_attribute("data-status", "failed")
    expect(card.locator(".reason")).to_contain_text("Throttled: the image model is busy")
    assert finished(local_stack, job_id)["error"]["code"] == "throttled"
    screenshot(record.page, "7-throttled")
    record.assert_clean()


def test_the_key_comes_from_the_local_stack_travels_only_in_a_header_and_is_remembered(
    open_page: OpenPage, local_stack: dict[str, Any]
) -> None:
    # given a fresh browser (nothing stored)
    record = open_ready(open_page, local_stack)
    page = record.page
    key = local_stack["api_key"]

    # then the local stack filled it in, and the API calls carried it in the x-api-key header only
    expect(page.locator("[name=api_key]")).to_have_value(key)
    calls = [request for request in record.requests if re.search(r"/v1/(config|jobs)", request.url)]
    assert calls
    assert all(request.headers.get("x-api-key") == key for request in calls)
    page_request = next(request for request in record.requests if request.url == local_stack["web_page_url"])
    assert "x-api-key" not in page_request.headers
    assert not [url for url in record.urls if key in url]

    # when the user enters it, it is remembered for the next visit
    page.fill("[name=api_key]", key)
    page.locator("[name=api_key]").dispatch_event("change")
    expect(page.locator("#status-text")).to_have_text(re.compile("^Ready"))
    assert page.evaluate("localStorage.getItem('imagegen.apiKey')") == key
    record.assert_clean()


def test_a_wrong_key_is_refused_in_plain_words_and_forgotten_on_request(
    open_page: OpenPage, local_stack: dict[str, Any], screenshot: Screenshot
) -> None:
    # given
    record = open_ready(open_page, local_stack)
    page = record.page

    # when another key is entered
    page.fill("[name=api_key]", "not-the-key")
    page.locator("[name=api_key]").dispatch_event("change")

    # then the page says the key is wrong
    expect(page.get_by_role("alert")).to_contain_text("The API key is missing or wrong")
    expect(page.locator("#status-text")).to_have_text("Enter the API key to start.")
    screenshot(page, "6-wrong-key")

    # when the user forgets it
    page.click("#forget-key")

    # then it is gone from the field and the browser's storage
    expect(page.locator("[name=api_key]")).to_have_value("")
    assert page.evaluate("localStorage.getItem('imagegen.apiKey')") is None
    record.assert_clean(expected_console_errors=lambda text: "status of 403" in text)


def test_the_page_loads_only_its_own_files_its_api_calls_and_the_images(
    open_page: OpenPage, local_stack: dict[str, Any]
) -> None:
    # given a page that made an image
    record = open_ready(open_page, local_stack)
    card = submit(record.page, unique("a quiet harbour"))
    expect(card).to_have_attribute("data-status", "succeeded")
    loaded_size(card.locator("img"))

    # then every request went to the API (page, files, calls) or to the images' presigned URLs, and nowhere else
    api = urlsplit(local_stack["web_page_url"]).netloc
    images = urlsplit(local_stack["aws_endpoint_url"]).netloc
    paths = {urlsplit(url).path for url in record.urls if urlsplit(url).netloc == api}
    assert {"/", "/v1/static/app.css", "/v1/static/app.mjs", "/v1/static/api.mjs", "/v1/config"} <= paths
    others = {
        path
        for path in paths
        if not re.fullmatch(r"/|/v1/(static/[\w.]+|config|jobs(/[\w-]+)?|local-stack\.json)", path)
    }
    assert others == set()
    image_urls = [url for url in record.urls if urlsplit(url).netloc == images]
    assert image_urls
    assert all(f"/{local_stack['bucket']}/" in url for url in image_urls)
    record.assert_clean()


# Every visible text's contrast against the first opaque background behind it (WCAG's relative luminance).
CONTRASTS = """() => {
  const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const rgba = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = rgba(getComputedStyle(node).backgroundColor);
      if (colour.length < 4 || colour[3] === 1) return colour;
    }
    return [255, 255, 255];
  };
  const results = [];
  for (const element of document.body.querySelectorAll("*")) {
    const ownText = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
    if (!ownText || !element.checkVisibility() || element.closest(".visually-hidden")) continue;
    const [fore, back] = [luminance(rgba(getComputedStyle(element).color)), luminance(background(element))];
    const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
    results.push([element.tagName + "." + element.className, element.textContent.trim().slice(0, 40), ratio]);
  }
  return results;
}"""


def test_every_field_has_a_label_and_every_text_is_readable(open_page: OpenPage, local_stack: dict[str, Any]) -> None:
    # given the page with a done and a refused job on it
    record = open_ready(open_page, local_stack)
    page = record.page
    for prompt in (unique("a calm sea"), unique("a forbidden sea")):
        expect(submit(page, prompt)).to_have_attribute("data-status", re.compile("succeeded|failed"))

    # then every form field has a label that names it
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input, select, textarea')]"
        ".filter((field) => !field.labels.length || !field.labels[0].textContent.trim()).map((field) => field.name)"
    )
    assert unlabelled == []
    # and every text contrasts with its background by at least 4.5:1 (WCAG AA)
    contrasts = page.evaluate(CONTRASTS)
    assert len(contrasts) > 20
    assert [item for item in contrasts if item[2] < 4.5] == []
    record.assert_clean()


def test_make_local_s_banner_names_the_page_which_opens_without_a_key(
    local_stack: dict[str, Any], local_stack_log: Path
) -> None:
    # then the banner points at the page, the stack's root
    url = local_stack["web_page_url"]
    assert f"Web page  {url}  " in local_stack_log.read_text()
    assert url == local_stack["api_base_url"].removesuffix("/v1") + "/"

    # and the page answers there without a key, as HTML under its policy
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert '<base href="/v1/">' in response.read().decode()
