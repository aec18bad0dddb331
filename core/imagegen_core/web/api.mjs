// The page's API client and its rules, without the DOM: requests with the key in a header, retries of what
// API Gateway throttled, polling a job with backoff, the request built from the form, errors in plain words.
// Tested with node's test runner (tests/web/api.test.mjs); app.mjs puts it on the page.

export const GET_RETRIES = 3; // a throttled or unavailable call is tried this many more times
export const POLL = { first: 1000, factor: 1.5, most: 5000 }; // ms before each GET /jobs/{id}: 1 s, growing to 5 s
export const FOLLOW_AT_MOST = 15 * 60 * 1000; // stop following a job after 15 minutes (it may still finish)
export const FINISHED = new Set(["succeeded", "failed"]);

// What each error code means to someone looking at the page; the service's own message follows as detail.
const REASONS = {
  content_filtered: "Refused by the content filter: the model will not draw this. Reword the prompt and try again.",
  throttled: "Throttled: the image model is busy right now. Try again in a minute.",
  quota_exceeded: "This API key's daily quota is used up; it resets at 00:00 UTC.",
  model_error: "The image model failed or is unavailable. Try again later.",
  service_unavailable: "The image model is unavailable right now. Try again later.",
  timeout: "The request took too long. Ask for fewer images, or try again.",
  validation_error: "The request was not accepted: check the marked fields.",
  invalid_json: "The request was malformed.",
  bad_request: "The request was malformed.",
  forbidden: "The API key is missing or wrong: enter this API's key above.",
  not_found: "Not found: jobs are only kept for a limited time.",
  internal_error: "Something went wrong in the service. Quote the request id when reporting it.",
  network: "The API could not be reached. Check the connection, then try again.",
  gave_up: "Stopped waiting: this job is taking unusually long. It may still finish; refresh the list later.",
};

export function describeError(code) {
  return REASONS[code] ?? "It failed.";
}

export class ApiError extends Error {
  constructor({ status = 0, code = "internal_error", message = "", details = [], requestId = null }) {
    super(message || describeError(code));
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    this.requestId = requestId;
  }

  /** What went wrong, in plain words. */
  get reason() {
    return describeError(this.code);
  }

  /** The service's own message (and the request id, for errors to report), when it adds to the reason. */
  get detail() {
    const parts = [];
    if (this.message && this.message !== this.reason) parts.push(this.message);
    if (this.requestId && this.status >= 500) parts.push(`Request id: ${this.requestId}.`);
    return parts.join(" ");
  }
}

/** Milliseconds before retry number `attempt` (0, 1, ...): Retry-After when the API gave one, else 1 s, 2 s, 4 s. */
export function retryDelay(attempt, retryAfter = null) {
  const seconds = Number.parseInt(retryAfter ?? "", 10);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 30) * 1000;
  return Math.min(1000 * 2 ** attempt, 8000);
}

/** Milliseconds before poll number `attempt` of a job (0, 1, ...): growing by POLL.factor up to POLL.most. */
export function pollDelay(attempt) {
  return Math.min(POLL.most, Math.round(POLL.first * POLL.factor ** attempt));
}

const sleepFor = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a failed answer is worth trying again: API Gateway's throttle (not the day's quota), or a GET the
 * service could not answer just now. A throttled request never reached the service, so even a POST may repeat. */
function retryable(method, status, code) {
  if (status === 429) return code !== "quota_exceeded";
  return method === "GET" && [502, 503, 504].includes(status);
}

export class ApiClient {
  /** `baseUrl`: the stage's root (the page's base URL); `apiKey`: sent as x-api-key when not empty. */
  constructor({ baseUrl, apiKey = "", fetch = globalThis.fetch, sleep = sleepFor, retries = GET_RETRIES }) {
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
    this.fetch = fetch;
    this.sleep = sleep;
    this.retries = retries;
  }

  config() {
    return this.request("GET", "config");
  }

  createJob(fields) {
    return this.request("POST", "jobs", fields);
  }

  job(jobId) {
    return this.request("GET", `jobs/${encodeURIComponent(jobId)}`);
  }

  jobs({ limit = 12, next = null } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (next) query.set("next", next);
    return this.request("GET", `jobs?${query}`);
  }

  /** The answer's JSON, or an ApiError with the API's code and message (or "network" when nothing answered). */
  async request(method, path, body = undefined) {
    const url = new URL(path, this.baseUrl);
    const headers = { Accept: "application/json" };
    if (this.apiKey) headers["x-api-key"] = this.apiKey;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" };
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await this.fetch.call(globalThis, url, init);
      } catch (error) {
        throw new ApiError({ code: "network", message: `${error?.message ?? error}` });
      }
      const answer = await readJson(response);
      if (response.ok) return answer;
      const error = apiError(response.status, answer);
      if (attempt >= this.retries || !retryable(method, response.status, error.code)) throw error;
      await this.sleep(retryDelay(attempt, response.headers.get("Retry-After")));
    }
  }
}

async function readJson(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function apiError(status, answer) {
  const error = answer && typeof answer === "object" ? answer.error ?? {} : {};
  const fallback = status === 403 ? "forbidden" : status === 429 ? "throttled" : status >= 500 ? "internal_error" : "bad_request";
  return new ApiError({
    status,
    code: typeof error.code === "string" ? error.code : fallback,
    message: typeof error.message === "string" ? error.message : "",
    details: error.details,
    requestId: answer?.request_id ?? null,
  });
}

/**
 * Follows a job until it succeeds or fails: GET /jobs/{id} after pollDelay(0), again after pollDelay(1), ...
 * (the caller already knows its state now). `onUpdate(job)` sees every answer. Rejects with ApiError "gave_up"
 * after `atMost` ms (the job is not lost).
 */
export async function followJob(client, jobId, { onUpdate = () => {}, atMost = FOLLOW_AT_MOST, now = Date.now } = {}) {
  const started = now();
  for (let attempt = 0; ; attempt++) {
    await client.sleep(pollDelay(attempt));
    const job = await client.job(jobId);
    onUpdate(job);
    if (FINISHED.has(job.status)) return job;
    if (now() - started >= atMost) throw new ApiError({ code: "gave_up" });
  }
}

const codePoints = (text) => [...text].length; // as the service counts characters (Python's len)

/**
 * The POST /jobs body for the form's values (strings, as the fields hold them) within the model's limits
 * (GET /config; null before it arrived: then only the prompt is checked and the service's defaults apply).
 * Returns { body, problems: [{ field, message }] }; a body is only to be sent when there are no problems.
 */
export function buildRequest(values, config) {
  const limits = config?.limits;
  const problems = [];
  const body = {};
  const prompt = (values.prompt ?? "").trim();
  const promptMost = limits?.prompt_max_chars;
  if (!prompt) problems.push({ field: "prompt", message: "Write what to draw." });
  else if (promptMost && codePoints(prompt) > promptMost) {
    problems.push({ field: "prompt", message: `At most ${promptMost} characters (now ${codePoints(prompt)}).` });
  }
  body.prompt = prompt;
  const negative = (values.negative_prompt ?? "").trim();
  if (negative) {
    const most = limits?.negative_prompt_max_chars;
    if (most && codePoints(negative) > most) {
      problems.push({ field: "negative_prompt", message: `At most ${most} characters (now ${codePoints(negative)}).` });
    }
    body.negative_prompt = negative;
  }
  if (!limits) return { body, problems };

  const size = limits.sizes.find((item) => `${item.width}x${item.height}` === values.size);
  if (size) Object.assign(body, { width: size.width, height: size.height });
  else problems.push({ field: "size", message: "Choose one of the sizes offered." });

  const count = wholeNumber(values.number_of_images ?? "1");
  if (count !== null && count >= 1 && count <= limits.max_images) body.number_of_images = count;
  else problems.push({ field: "number_of_images", message: `From 1 to ${limits.max_images}.` });

  const seedText = (values.seed ?? "").trim();
  if (seedText) {
    const seed = wholeNumber(seedText);
    if (seed !== null && seed <= limits.seed_max) body.seed = seed;
    else problems.push({ field: "seed", message: `A whole number from 0 to ${limits.seed_max}, or empty.` });
  }

  const options = config.options ?? {};
  if (options.quality && values.quality) {
    if ((options.quality.enum ?? []).includes(values.quality)) body.quality = values.quality;
    else problems.push({ field: "quality", message: `One of ${(options.quality.enum ?? []).join(", ")}.` });
  }
  if (options.cfg_scale && (values.cfg_scale ?? "").trim()) {
    const scale = Number((values.cfg_scale ?? "").trim());
    const { minimum, maximum } = options.cfg_scale;
    if (Number.isFinite(scale) && scale >= minimum && scale <= maximum) body.cfg_scale = scale;
    else problems.push({ field: "cfg_scale", message: `A number from ${minimum} to ${maximum}.` });
  }
  return { body, problems };
}

function wholeNumber(text) {
  const trimmed = String(text).trim();
  if (!/^\d{1,16}$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) ? value : null;
}

const STATES = { queued: "Queued", running: "Generating", succeeded: "Done", failed: "Failed" };

/** What a job's card says: its state in words, its prompt (or what the queue message began with), the reason. */
export function describeJob(job) {
  const request = job.request && typeof job.request === "object" ? job.request : {};
  let state = STATES[job.status] ?? "Unknown";
  if (job.status === "running" && job.attempts > 1) state = `${state} (attempt ${job.attempts})`;
  const prompt = typeof request.prompt === "string" ? request.prompt : job.body_excerpt ?? "";
  const failed = job.status === "failed";
  return {
    state,
    prompt,
    reason: failed ? describeError(job.error?.code) : null,
    detail: failed ? job.error?.message ?? "" : null,
  };
}

/** Only http(s) URLs from an answer are ever put in a link or an image (never javascript: or data:). */
export function safeUrl(text) {
  try {
    const url = new URL(text);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/** Whether the page came from this machine (the local stack), where it may ask the stack for its API key. */
export function isLoopback(hostname) {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}
