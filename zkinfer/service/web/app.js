// The zkinfer service page: recent jobs (polled) and a proof verifier (POST /v1/verify).
// Every value from the server or the user is inserted as text (textContent, dataset): never
// as HTML. Requests go to this origin only (the page's Content-Security-Policy says so too).
"use strict";

const POLL_MS = 2000;
const PROOF_ID = /^proof_[A-Za-z0-9_-]{1,100}$/;

function $(id) { return document.getElementById(id); }

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) { td.className = className; }
  return td;
}

function when(seconds) {
  if (typeof seconds !== "number") { return ""; }
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function progressOf(job) {
  if (job.status === "done") { return "100 %"; }
  if (job.status === "proving") { return (job.stage || "proving") + ", " + job.percent + " %"; }
  return job.status === "queued" ? "waiting" : "";
}

async function getJson(url, options) {
  const resp = await fetch(url, Object.assign({ credentials: "same-origin" }, options || {}));
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  return { ok: resp.ok, status: resp.status, body: body };
}

function errorText(result) {
  const err = result.body && result.body.error;
  return "HTTP " + result.status + (err && err.message ? ": " + err.message : "");
}

// --- recent jobs --------------------------------------------------------------------------

let polling = false;

async function refreshJobs() {
  if (polling) { return; }
  polling = true;
  try {
    const got = await getJson("/v1/jobs/recent?limit=50");
    if (!got.ok || !got.body || !Array.isArray(got.body.data)) {
      $("jobs-status").textContent = "could not list the jobs: " + errorText(got);
      return;
    }
    const rows = document.createDocumentFragment();
    for (const job of got.body.data) {
      const tr = document.createElement("tr");
      tr.dataset.ref = String(job.ref);
      tr.dataset.status = String(job.status);
      tr.append(cell(job.ref, "mono"), cell(job.model), cell(job.kind),
                cell(job.status, "status-" + String(job.status).replace(/[^a-z]/g, "")),
                cell(progressOf(job)), cell(when(job.created)), cell(when(job.finished)));
      rows.append(tr);
    }
    $("jobs-body").replaceChildren(rows);
    $("jobs-status").textContent = got.body.data.length + " recent job(s), updated " +
      new Date().toLocaleTimeString();
  } catch (e) {
    $("jobs-status").textContent = "cannot reach the server: " + e;
  } finally {
    polling = false;
  }
}

async function loadModels() {
  try {
    const got = await getJson("/v1/models");
    if (!got.ok || !got.body) { return; }
    const rows = document.createDocumentFragment();
    for (const m of got.body.data) {
      const tr = document.createElement("tr");
      tr.append(cell(m.id), cell(m.kind), cell(m.key_digest, "mono"));
      rows.append(tr);
    }
    $("models-body").replaceChildren(rows);
  } catch (e) { /* the jobs' status line reports an unreachable server */ }
}

// --- verifying ----------------------------------------------------------------------------

function base64OfBytes(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function show(verdict, reason, details) {
  $("result").hidden = false;
  const v = $("verdict");
  v.textContent = verdict === true ? "Accepted" : verdict === false ? "Rejected" : verdict;
  v.className = "verdict " + (verdict === true ? "accepted" : verdict === false ? "rejected" : "");
  v.dataset.verdict = verdict === true ? "accepted" : verdict === false ? "rejected" : "pending";
  $("reason").textContent = reason || "";
  const d = details || {};
  const st = d.statement || {};
  const list = (xs) => Array.isArray(xs) ? xs.join(", ") + "  (" + xs.length + " values)" : "";
  $("result-model").textContent = d.model || "";
  $("result-key").textContent = d.key_digest || "";
  $("result-input").textContent = list(st.input);
  $("result-output").textContent = list(st.output);
  $("result-text").textContent = typeof d.text === "string" ? d.text : "";
  $("result-max").textContent = st.max_new_tokens === null || st.max_new_tokens === undefined
    ? "" : String(st.max_new_tokens);
}

// The /v1/verify request of a job's JSON (GET /v1/proofs/{id}): its proof, checked against
// the statement and the key digest the JSON states.
function requestOfJob(job) {
  if (typeof job.proof !== "string") {
    const state = job.status === "proving"
      ? "proving (" + (job.stage || "") + ", " + job.percent + " %)" : String(job.status);
    throw new Error("this job has no proof yet: it is " + state +
                    (job.reason ? " (" + job.reason + ")" : ""));
  }
  const req = { proof: job.proof };
  if (typeof job.key_digest === "string") { req.key_digest = job.key_digest; }
  const st = job.statement;
  if (st && typeof st === "object") {
    if ("input" in st) { req.input = st.input; }
    if ("output" in st) { req.output = st.output; }
    if ("max_new_tokens" in st) { req.max_new_tokens = st.max_new_tokens; }
  }
  return req;
}

async function requestOfText(text) {
  const t = text.trim();
  if (!t) { throw new Error("paste a proof id, a proof's JSON or base64, or choose a file"); }
  if (PROOF_ID.test(t)) {
    const got = await getJson("/v1/proofs/" + encodeURIComponent(t));
    if (!got.ok) { throw new Error("could not fetch " + t + ": " + errorText(got)); }
    return requestOfJob(got.body);
  }
  if (t.startsWith("{")) {
    let job;
    try { job = JSON.parse(t); } catch (e) { throw new Error("not valid JSON: " + e.message); }
    if (job === null || typeof job !== "object") { throw new Error("the JSON is not an object"); }
    if (typeof job.proof !== "string" && typeof job.id === "string" && PROOF_ID.test(job.id)) {
      return requestOfText(job.id);
    }
    return requestOfJob(job);
  }
  return { proof: t.replace(/\s+/g, "") };
}

async function verifyRequest(promise) {
  show("Verifying...", "", null);
  let req;
  try {
    req = await promise;
  } catch (e) {
    show(false, e.message || String(e), null);
    return;
  }
  try {
    const got = await getJson("/v1/verify", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req),
    });
    if (!got.ok) {
      show(false, errorText(got), null);
    } else {
      show(got.body.valid === true, got.body.valid === true ? "" : got.body.reason, got.body);
    }
  } catch (e) {
    show(false, "cannot reach the server: " + e, null);
  }
}

async function requestOfFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const magic = String.fromCharCode.apply(null, bytes.subarray(0, 4));
  if (magic === "ZKPF") { return { proof: base64OfBytes(bytes) }; }
  return requestOfText(new TextDecoder("utf-8").decode(bytes));
}

document.addEventListener("DOMContentLoaded", () => {
  $("verify-button").addEventListener("click", () => {
    verifyRequest(requestOfText($("proof-input").value));
  });
  $("proof-file").addEventListener("change", (event) => {
    const file = event.target.files && event.target.files[0];
    if (file) { verifyRequest(requestOfFile(file)); }
  });
  loadModels();
  refreshJobs();
  setInterval(refreshJobs, POLL_MS);
});
