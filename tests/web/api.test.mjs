// The web page's API module (core/imagegen_core/web/api.mjs) under node's test runner: `node --test tests/web`
// (tests/unit/test_web_scripts.py runs it in `make test`). A fake fetch records requests and plays answers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ApiClient,
  ApiError,
  POLL,
  buildRequest,
  describeError,
  describeJob,
  followJob,
  isLoopback,
  pollDelay,
  retryDelay,
  safeUrl,
} from "../../core/imagegen_core/web/api.mjs";

const BASE = "http://127.0.0.1:3000/v1/";

function answer(status, body, headers = {}) {
  return new Response(body === undefined ? "" : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

/** A client whose fetch answers from `answers` in turn and records each request; sleeps are recorded, not slept. */
function fakeClient(answers, { apiKey = "key-1" } = {}) {
  const requests = [];
  const sleeps = [];
  const fetch = async (url, init) => {
    requests.push({ url: String(url), ...init });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    if (!next) throw new Error("no more answers");
    return next;
  };
  const client = new ApiClient({ baseUrl: BASE, apiKey, fetch, sleep: async (ms) => sleeps.push(ms) });
  return { client, requests, sleeps };
}

const CONFIG = {
  model: { model_id: "amazon.titan-image-generator-v1", name: "Titan", family: "amazon" },
  limits: {
    prompt_max_chars: 10,
    negative_prompt_max_chars: 5,
    seed_max: 2147483646,
    max_images: 5,
    sizes: [
      { width: 1024, height: 1024, label: "1024x1024" },
      { width: 1152, height: 640, label: "1152x640" },
    ],
  },
  defaults: { width: 1024, height: 1024, number_of_images: 1 },
  options: {
    cfg_scale: { default: 8, minimum: 1.1, maximum: 10 },
    quality: { default: "standard", enum: ["standard", "premium"] },
  },
};
const VALUES = { prompt: "a cat", negative_prompt: "", size: "1024x1024", number_of_images: "1", seed: "" };

describe("ApiClient", () => {
  it("sends the key in the x-api-key header, and requests below the stage's root, never the key in the URL", async () => {
    // given
    const { client, requests } = fakeClient([answer(202, { job_id: "j-1", status: "queued" })]);

    // when
    const created = await client.createJob({ prompt: "a cat" });

    // then
    assert.deepEqual(created, { job_id: "j-1", status: "queued" });
    const [request] = requests;
    assert.equal(request.url, "http://127.0.0.1:3000/v1/jobs");
    assert.equal(request.method, "POST");
    assert.equal(request.headers["x-api-key"], "key-1");
    assert.equal(request.headers["Content-Type"], "application/json");
    assert.equal(request.body, JSON.stringify({ prompt: "a cat" }));
    assert.ok(!request.url.includes("key-1"));
  });

  it("sends no key header at all when there is no key (a stack without keys)", async () => {
    const { client, requests } = fakeClient([answer(200, { jobs: [], next: null })], { apiKey: "" });
    await client.jobs();
    assert.equal("x-api-key" in requests[0].headers, false);
  });

  it("asks for a page of jobs with its limit and the next token, and a job by its escaped id", async () => {
    // given
    const { client, requests } = fakeClient([answer(200, { jobs: [] }), answer(200, { job_id: "a/b" })]);

    // when
    await client.jobs({ limit: 12, next: "tok=en" });
    await client.job("a/b");

    // then
    assert.equal(requests[0].url, `${BASE}jobs?limit=12&next=tok%3Den`);
    assert.equal(requests[1].url, `${BASE}jobs/a%2Fb`);
  });

  it("turns an error answer into an ApiError with the API's code, message, details and request id", async () => {
    // given
    const details = [{ field: "prompt", message: "too long" }];
    const body = { error: { code: "validation_error", message: "invalid request: check prompt", details }, request_id: "r-1" };
    const { client } = fakeClient([answer(422, body)]);

    // when / then
    await assert.rejects(client.createJob({ prompt: "x" }), (error) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 422);
      assert.equal(error.code, "validation_error");
      assert.deepEqual(error.details, details);
      assert.equal(error.requestId, "r-1");
      assert.match(error.reason, /^The request was not accepted/);
      assert.equal(error.detail, "invalid request: check prompt");
      return true;
    });
  });

  it("retries a throttled call after the Retry-After the API gave, then answers", async () => {
    // given
    const throttled = answer(429, { error: { code: "throttled", message: "slow down" } }, { "Retry-After": "2" });
    const { client, sleeps, requests } = fakeClient([throttled, answer(202, { job_id: "j-2" })]);

    // when
    const created = await client.createJob({ prompt: "a cat" });

    // then the POST was sent twice (a throttled request never reached the service), 2 s apart
    assert.equal(created.job_id, "j-2");
    assert.equal(requests.length, 2);
    assert.deepEqual(sleeps, [2000]);
  });

  it("gives up after its retries and reports the last error", async () => {
    // given
    const busy = () => answer(503, { error: { code: "service_unavailable", message: "busy" } });
    const { client, sleeps } = fakeClient([busy(), busy(), busy(), busy()]);

    // when / then
    await assert.rejects(client.job("j"), { code: "service_unavailable", status: 503 });
    assert.deepEqual(sleeps, [1000, 2000, 4000]);
  });

  it("never retries the day's quota, a POST the service failed, or the caller's mistakes", async () => {
    for (const [method, status, code] of [
      ["GET", 429, "quota_exceeded"],
      ["POST", 503, "service_unavailable"],
      ["GET", 403, "forbidden"],
      ["GET", 404, "not_found"],
    ]) {
      const { client, requests } = fakeClient([answer(status, { error: { code, message: "no" } })]);
      const call = method === "GET" ? client.job("j") : client.createJob({ prompt: "a" });
      await assert.rejects(call, { code });
      assert.equal(requests.length, 1, `${method} ${status} ${code}`);
    }
  });

  it("adds the request id to the detail of the service's own failures, for reporting them", async () => {
    const body = { error: { code: "internal_error", message: "internal error" }, request_id: "r-9" };
    const { client } = fakeClient([answer(500, body)]);
    await assert.rejects(client.createJob({ prompt: "a" }), (error) => {
      assert.equal(error.detail, "internal error Request id: r-9.");
      return true;
    });
  });

  it("calls an unreachable API a network error, and a body that is not JSON by its status", async () => {
    const unreachable = fakeClient([new TypeError("Failed to fetch")]);
    await assert.rejects(unreachable.client.config(), { code: "network", message: "Failed to fetch" });

    const gateway = fakeClient([new Response("<html>Forbidden</html>", { status: 403 })]);
    await assert.rejects(gateway.client.config(), { code: "forbidden", status: 403 });
  });
});

describe("backoff", () => {
  it("polls a job after 1 s, then half as long again each time, up to 5 s", () => {
    const delays = Array.from({ length: 10 }, (_, attempt) => pollDelay(attempt));
    assert.deepEqual(delays.slice(0, 5), [1000, 1500, 2250, 3375, 5000]);
    assert.equal(Math.max(...delays), POLL.most);
    assert.deepEqual([...delays].sort((a, b) => a - b), delays);
  });

  it("waits as long as Retry-After says (at most 30 s), else 1 s, 2 s, 4 s, 8 s at most", () => {
    assert.equal(retryDelay(0, "3"), 3000);
    assert.equal(retryDelay(0, "0"), 0);
    assert.equal(retryDelay(5, "3600"), 30000);
    assert.deepEqual([0, 1, 2, 3, 4].map((attempt) => retryDelay(attempt, null)), [1000, 2000, 4000, 8000, 8000]);
    assert.equal(retryDelay(1, "soon"), 2000);
  });
});

describe("followJob", () => {
  it("polls until the job is done, pausing longer each time, and shows every state on the way", async () => {
    // given
    const states = ["queued", "running", "running", "succeeded"];
    const { client, sleeps } = fakeClient(states.map((status) => answer(200, { job_id: "j", status })));
    const seen = [];

    // when
    const job = await followJob(client, "j", { onUpdate: (update) => seen.push(update.status) });

    // then
    assert.equal(job.status, "succeeded");
    assert.deepEqual(seen, states);
    assert.deepEqual(sleeps, [1000, 1500, 2250, 3375]);
  });

  it("stops at a failure and hands it back", async () => {
    const { client } = fakeClient([answer(200, { job_id: "j", status: "failed", error: { code: "content_filtered" } })]);
    const job = await followJob(client, "j");
    assert.equal(job.error.code, "content_filtered");
  });

  it("gives up following after its limit, saying the job may still finish", async () => {
    // given a job that stays queued, and a clock that moves a minute per poll
    const { client } = fakeClient(Array.from({ length: 5 }, () => answer(200, { job_id: "j", status: "queued" })));
    let clock = 0;
    const now = () => (clock += 60_000);

    // when / then
    await assert.rejects(followJob(client, "j", { atMost: 180_000, now }), (error) => {
      assert.equal(error.code, "gave_up");
      assert.match(error.reason, /may still finish/);
      assert.equal(error.detail, "");
      return true;
    });
  });
});

describe("buildRequest", () => {
  it("builds the body from the form within the model's limits", () => {
    // when
    const values = { ...VALUES, negative_prompt: " blur ", size: "1152x640", number_of_images: "3", seed: " 42 " };
    const { body, problems } = buildRequest({ ...values, quality: "premium", cfg_scale: "6.5" }, CONFIG);

    // then
    assert.deepEqual(problems, []);
    assert.deepEqual(body, {
      prompt: "a cat",
      negative_prompt: "blur",
      width: 1152,
      height: 640,
      number_of_images: 3,
      seed: 42,
      quality: "premium",
      cfg_scale: 6.5,
    });
  });

  it("leaves an empty seed and empty options to the service (a random seed, the defaults)", () => {
    const { body } = buildRequest({ ...VALUES, quality: "", cfg_scale: " " }, CONFIG);
    assert.deepEqual(body, { prompt: "a cat", width: 1024, height: 1024, number_of_images: 1 });
  });

  it("names every field at fault", () => {
    // when
    const values = { prompt: "  ", negative_prompt: "123456", size: "9x9", number_of_images: "6", seed: "-1" };
    const { problems } = buildRequest({ ...values, quality: "best", cfg_scale: "11" }, CONFIG);

    // then
    assert.deepEqual(problems.map((problem) => problem.field), [
      "prompt",
      "negative_prompt",
      "size",
      "number_of_images",
      "seed",
      "quality",
      "cfg_scale",
    ]);
  });

  it("counts characters as the service does (an emoji is one), and says how many there are", () => {
    assert.deepEqual(buildRequest({ ...VALUES, prompt: "🐱".repeat(10) }, CONFIG).problems, []);
    const [problem] = buildRequest({ ...VALUES, prompt: "🐱".repeat(11) }, CONFIG).problems;
    assert.equal(problem.message, "At most 10 characters (now 11).");
  });

  it("refuses seeds that are not whole numbers within the model's range", () => {
    for (const seed of ["1.5", "1e3", "0x10", "2147483647", "99999999999999999999"]) {
      assert.equal(buildRequest({ ...VALUES, seed }, CONFIG).problems[0]?.field, "seed", seed);
    }
    assert.equal(buildRequest({ ...VALUES, seed: "2147483646" }, CONFIG).body.seed, 2147483646);
  });

  it("checks only the prompt before the model's settings arrived, and sends the prompt alone", () => {
    assert.deepEqual(buildRequest(VALUES, null), { body: { prompt: "a cat" }, problems: [] });
    assert.equal(buildRequest({ prompt: "" }, null).problems[0].field, "prompt");
  });
});

describe("words", () => {
  it("says why a job failed in plain words for each code the service uses", () => {
    assert.match(describeError("content_filtered"), /content filter/);
    assert.match(describeError("throttled"), /busy/);
    assert.match(describeError("model_error"), /unavailable/);
    assert.match(describeError("service_unavailable"), /unavailable/);
    assert.match(describeError("forbidden"), /API key/);
    assert.equal(describeError("something_new"), "It failed.");
  });

  it("describes a job by its state, its prompt (or the start of its queue message) and its reason", () => {
    assert.deepEqual(describeJob({ status: "failed", request: { prompt: "a cat" }, error: { code: "throttled", message: "m" } }), {
      state: "Failed",
      prompt: "a cat",
      reason: describeError("throttled"),
      detail: "m",
    });
    assert.equal(describeJob({ status: "running", attempts: 2, request: {} }).state, "Generating (attempt 2)");
    assert.equal(describeJob({ status: "queued", body_excerpt: "{not json" }).prompt, "{not json");
    assert.equal(describeJob({ status: "succeeded", request: null }).prompt, "");
  });

  it("lets only http(s) URLs into links and images", () => {
    assert.equal(safeUrl("https://b.s3.amazonaws.com/k.png?X=1"), "https://b.s3.amazonaws.com/k.png?X=1");
    assert.equal(safeUrl("http://127.0.0.1:4566/b/k.png"), "http://127.0.0.1:4566/b/k.png");
    for (const url of ["javascript:alert(1)", "data:image/png;base64,AA", "k.png", undefined, null]) {
      assert.equal(safeUrl(url), null, String(url));
    }
  });

  it("knows which hosts are this machine's", () => {
    assert.deepEqual(["127.0.0.1", "localhost", "[::1]", "abc.execute-api.eu-west-1.amazonaws.com"].map(isLoopback), [
      true,
      true,
      true,
      false,
    ]);
  });
});
