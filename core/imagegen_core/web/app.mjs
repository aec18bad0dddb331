// The page: the key, the form, the progress of the jobs submitted here, and the gallery of recent jobs.
// Text from the API (prompts, messages) only ever goes into the page as text nodes (textContent, append):
// the page's CSP (Trusted Types) makes HTML built from strings an error anyway.
import {
  ApiClient,
  ApiError,
  FINISHED,
  FOLLOW_AT_MOST,
  buildRequest,
  describeError,
  describeJob,
  followJob,
  isLoopback,
  safeUrl,
} from "./api.mjs";

const KEY_STORAGE = "imagegen.apiKey";
const LOCAL_STACK_SETTINGS = "local-stack.json"; // answered by `make local` only (local/api_shim.py)
const PAGE_SIZE = 12;
const WATCH_AT_MOST = 4; // jobs followed at once, the ones submitted here included
const FIELDS = ["prompt", "negative_prompt", "size", "number_of_images", "seed", "quality", "cfg_scale"];

const byId = (id) => document.getElementById(id);
const state = { config: null, next: null, latest: null, followed: new Set() };

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

function client() {
  return new ApiClient({ baseUrl: document.baseURI, apiKey: byId("api_key").value.trim() });
}

// -- the key ---------------------------------------------------------------------------------------------

function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? "";
  } catch {
    return ""; // storage disabled: the key lives in the field only
  }
}

function remember(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage disabled: nothing to remember it in
  }
}

/** The local stack's API key (not a secret), when the page came from this machine and the stack offers it. */
async function localStackKey() {
  if (!isLoopback(location.hostname)) return "";
  try {
    const response = await fetch(new URL(LOCAL_STACK_SETTINGS, document.baseURI), { cache: "no-store" });
    if (!response.ok) return "";
    const settings = await response.json();
    return typeof settings?.api_key === "string" ? settings.api_key : "";
  } catch {
    return "";
  }
}

async function onKeyChange() {
  remember(byId("api_key").value.trim());
  await loadEverything();
}

async function forgetKey() {
  remember("");
  byId("api_key").value = "";
  byId("api_key").focus();
  setStatus("The key is forgotten. Enter a key to go on.");
}

// -- status and errors -----------------------------------------------------------------------------------

function setStatus(text, { busy = false } = {}) {
  byId("status-text").textContent = text;
  byId("progress").hidden = !busy;
}

/** The alert: what went wrong in plain words, then the service's own words, if any (empty: no alert). */
function showAlert(reason, detail = "") {
  const alert = byId("alert");
  alert.replaceChildren(
    ...(reason ? [element("strong", {}, reason)] : []),
    ...(detail ? [element("span", { class: "detail" }, `Details: ${detail}`)] : []),
  );
  alert.hidden = !reason;
}

function alertFor(error) {
  if (error instanceof ApiError) showAlert(error.reason, error.detail);
  else showAlert(describeError("internal_error"), String(error));
}

function clearFieldErrors() {
  for (const name of FIELDS) {
    const field = byId(name);
    const message = byId(`${name}-error`);
    if (field) field.removeAttribute("aria-invalid");
    if (message) {
      message.textContent = "";
      message.hidden = true;
    }
  }
}

/** Marks each field at fault with its message; focuses the first. Problems of unknown fields go to the alert. */
function showFieldErrors(problems) {
  let first = null;
  const others = [];
  for (const { field, message } of problems) {
    const name = field === "width" || field === "height" ? "size" : field;
    const input = byId(name);
    const slot = byId(`${name}-error`);
    if (!FIELDS.includes(name) || !input || !slot) {
      others.push(`${field}: ${message}.`);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    slot.textContent = message;
    slot.hidden = false;
    first ??= input;
  }
  first?.focus();
  return others;
}

// -- the model's choices ---------------------------------------------------------------------------------

function fillSelect(select, options, chosen) {
  select.replaceChildren(
    ...options.map(({ value, label }) => element("option", { value, selected: value === chosen }, label)),
  );
}

function applyConfig(config) {
  state.config = config;
  const { model, limits, defaults, options } = config;
  const lifecycle = model.lifecycle?.status && model.lifecycle.status !== "ACTIVE" ? ` · ${model.lifecycle.status}` : "";
  byId("model").textContent = `Model: ${model.name} (${model.model_id})${lifecycle}`;
  byId("prompt").setAttribute("maxlength", limits.prompt_max_chars);
  byId("prompt-hint").textContent = `What to draw, up to ${limits.prompt_max_chars} characters.`;
  byId("negative_prompt").setAttribute("maxlength", limits.negative_prompt_max_chars);
  byId("negative_prompt-hint").textContent =
    `What to keep out of the picture, up to ${limits.negative_prompt_max_chars} characters.`;
  const sizes = limits.sizes.map((size) => ({ value: `${size.width}x${size.height}`, label: size.label }));
  fillSelect(byId("size"), sizes, `${defaults.width}x${defaults.height}`);
  const counts = Array.from({ length: limits.max_images }, (_, index) => String(index + 1));
  fillSelect(byId("number_of_images"), counts.map((value) => ({ value, label: value })), String(defaults.number_of_images));
  byId("seed-hint").textContent = `Empty: a random seed. Else a whole number from 0 to ${limits.seed_max}.`;
  byId("quality-choice").hidden = !options.quality;
  if (options.quality) {
    const choices = (options.quality.enum ?? []).map((value) => ({ value, label: value }));
    fillSelect(byId("quality"), choices, options.quality.default);
  }
  byId("cfg_scale-choice").hidden = !options.cfg_scale;
  if (options.cfg_scale) {
    const { minimum, maximum, default: usual } = options.cfg_scale;
    byId("cfg_scale").value = String(usual);
    byId("cfg_scale-hint").textContent = `cfg_scale, from ${minimum} to ${maximum}: how closely to follow the prompt.`;
  }
}

async function loadConfig() {
  applyConfig(await client().config());
}

// -- jobs: cards in the gallery --------------------------------------------------------------------------

function imageFigure(image, index, count, prompt) {
  const url = safeUrl(image.url);
  if (!url) return null;
  const download = safeUrl(image.download_url) ?? url;
  const name = String(image.key ?? "").split("/").pop() || `image-${index + 1}.png`;
  const alt = `Image ${index + 1} of ${count}: ${prompt}`.slice(0, 300);
  const newTab = element("span", { class: "visually-hidden" }, " (opens in a new tab)");
  return element(
    "li",
    {},
    element(
      "figure",
      {},
      element(
        "a",
        { href: url, target: "_blank", rel: "noopener noreferrer", class: "full" },
        element("img", { src: url, alt, width: image.width, height: image.height, loading: "lazy", decoding: "async" }),
      ),
      element(
        "figcaption",
        {},
        element("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "Full size", newTab),
        " ",
        element("a", { href: download, download: name, class: "download" }, "Download"),
        " ",
        element("span", { class: "size" }, `${image.width}×${image.height}`),
      ),
    ),
  );
}

function jobCard(job) {
  const { state: words, prompt, reason, detail } = describeJob(job);
  const created = job.created_at ? new Date(job.created_at) : null;
  const when = created && !Number.isNaN(created.valueOf())
    ? element("time", { datetime: job.created_at }, created.toLocaleString())
    : null;
  const card = element(
    "li",
    { class: "job", "data-job-id": job.job_id, "data-status": job.status },
    element("p", { class: "prompt" }, prompt || "(no prompt)"),
    element("p", { class: "meta" }, element("span", { class: `state state-${job.status}` }, words), " ", when),
  );
  if (reason) {
    const details = detail ? element("span", { class: "detail" }, `Details: ${detail}`) : null;
    card.append(element("p", { class: "reason" }, element("strong", {}, reason), details));
  }
  const images = Array.isArray(job.images) ? job.images : [];
  if (job.status === "succeeded" && images.length) {
    card.append(element("ul", { class: "images" }, ...images.map((image, index) => imageFigure(image, index, images.length, prompt))));
  }
  return card;
}

function findCard(jobId) {
  return [...byId("gallery").children].find((card) => card.dataset.jobId === jobId) ?? null;
}

/** Shows `job` in the gallery: replaces its card, or adds one (at the top, or at the end with `atEnd`). */
function showJob(job, { atEnd = false } = {}) {
  const card = jobCard(job);
  const existing = findCard(job.job_id);
  if (existing) existing.replaceWith(card);
  else if (atEnd) byId("gallery").append(card);
  else byId("gallery").prepend(card);
  byId("gallery-empty").hidden = true;
}

async function loadGallery({ more = false } = {}) {
  const page = await client().jobs({ limit: PAGE_SIZE, next: more ? state.next : null });
  if (!more) byId("gallery").replaceChildren();
  for (const job of page.jobs ?? []) showJob(job, { atEnd: true });
  state.next = page.next ?? null;
  byId("more").hidden = !state.next;
  byId("gallery-empty").hidden = byId("gallery").children.length > 0;
  watchUnfinished(page.jobs ?? []);
}

/** Keeps the cards of recent unfinished jobs (from elsewhere: another tab, the queue) up to date, quietly. */
function watchUnfinished(jobs) {
  const since = Date.now() - FOLLOW_AT_MOST;
  const unfinished = jobs.filter(
    (job) => !FINISHED.has(job.status) && !state.followed.has(job.job_id) && Date.parse(job.created_at) > since,
  );
  for (const job of unfinished.slice(0, Math.max(0, WATCH_AT_MOST - state.followed.size))) {
    state.followed.add(job.job_id);
    followJob(client(), job.job_id, { onUpdate: (update) => showJob(update) })
      .catch(() => {}) // the card stays as it was; Refresh shows the job's state
      .finally(() => state.followed.delete(job.job_id));
  }
}

async function loadEverything() {
  showAlert("");
  setStatus("Loading…", { busy: true });
  try {
    await loadConfig();
    await loadGallery();
    setStatus("Ready. Write a prompt and press Generate.");
  } catch (error) {
    setStatus(error?.code === "forbidden" ? "Enter the API key to start." : "Could not load the model's settings.");
    alertFor(error);
  }
}

// -- submitting ------------------------------------------------------------------------------------------

function formValues() {
  return Object.fromEntries(FIELDS.map((name) => [name, byId(name)?.value ?? ""]));
}

async function onSubmit(event) {
  event.preventDefault();
  showAlert("");
  clearFieldErrors();
  const { body, problems } = buildRequest(formValues(), state.config);
  if (problems.length) {
    showFieldErrors(problems);
    setStatus("Check the marked fields.");
    return;
  }
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  setStatus("Sending…", { busy: true });
  let created;
  try {
    created = await client().createJob(body);
  } catch (error) {
    setStatus("Not sent.");
    const others = error.code === "validation_error" ? showFieldErrors(error.details) : [];
    if (others.length) showAlert(error.reason, [error.detail, ...others].join(" "));
    else alertFor(error);
    if (error.code === "forbidden") byId("api_key").focus();
    return;
  } finally {
    button.disabled = false;
  }
  await follow(created.job_id, body);
}

async function follow(jobId, request) {
  state.latest = jobId;
  state.followed.add(jobId);
  const isLatest = () => state.latest === jobId;
  showJob({ job_id: jobId, status: "queued", request, created_at: new Date().toISOString() });
  setStatus("Queued: waiting for the image model…", { busy: true });
  let last = "queued";
  try {
    const job = await followJob(client(), jobId, {
      onUpdate(update) {
        showJob(update);
        if (isLatest() && update.status !== last && update.status === "running") {
          setStatus("Generating…", { busy: true });
        }
        last = update.status;
      },
    });
    if (!isLatest()) return;
    if (job.status === "succeeded") {
      const count = job.images?.length ?? 0;
      setStatus(`Done: ${count} image${count === 1 ? "" : "s"}, at the top of the list below.`);
    } else {
      setStatus("Failed.");
      showAlert(describeError(job.error?.code), job.error?.message ?? "");
    }
  } catch (error) {
    if (!isLatest()) return;
    setStatus("Stopped following the job.");
    alertFor(error);
  } finally {
    state.followed.delete(jobId);
  }
}

// -- start -----------------------------------------------------------------------------------------------

async function start() {
  const key = byId("api_key");
  key.value = storedKey() || (await localStackKey());
  key.addEventListener("change", onKeyChange);
  byId("forget-key").addEventListener("click", forgetKey);
  const form = byId("generate");
  form.addEventListener("submit", onSubmit);
  for (const name of ["prompt", "negative_prompt"]) {
    byId(name).addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
  }
  byId("refresh").addEventListener("click", () => loadGallery().catch(alertFor));
  byId("more").addEventListener("click", () => loadGallery({ more: true }).catch(alertFor));
  await loadEverything();
}

start();
