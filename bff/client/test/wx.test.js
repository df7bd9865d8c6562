// The wx.request wrapper against a fake wx.request: what it sends, how it
// refreshes, waits out Retry-After and decodes problems. Runs on the
// compiled client (npm test builds dist/ first).
import { test } from "node:test";
import assert from "node:assert/strict";

import { Client, ProblemError, memoryTokens, retryAfterMs } from "../dist/index.js";

const base = "https://gjj.example.cn";

// fakeWx answers each request with the next scripted answer for its path
// (an object {statusCode, data, header}, or {fail} for no answer), and
// records what was sent.
function fakeWx(script) {
  const sent = [];
  const queues = new Map(Object.entries(script).map(([k, v]) => [k, [...v]]));
  const request = (o) => {
    const path = o.url.slice(base.length).split("?")[0];
    sent.push({ ...o, path, body: o.data === undefined ? undefined : JSON.parse(o.data) });
    const q = queues.get(`${o.method} ${path}`);
    const next = q?.shift();
    setImmediate(() => {
      if (!next) return o.fail({ errMsg: `request:fail no script for ${o.method} ${path}` });
      if (next.fail) return o.fail({ errMsg: next.fail });
      o.success({ statusCode: next.statusCode, data: next.data ?? "", header: next.header ?? {} });
    });
  };
  return { request, sent, left: () => [...queues.values()].reduce((n, q) => n + q.length, 0) };
}

function problem(status, code, extra = {}, header = {}) {
  return {
    statusCode: status,
    header: { "Content-Type": "application/problem+json", "X-Request-ID": "req-1", ...header },
    data: { type: `urn:handheld:problem:${code}`, title: "t", status, detail: "d", code, request_id: "req-1", ...extra },
  };
}

const ok = (data, header = {}) => ({ statusCode: 200, header: { "Content-Type": "application/json", ...header }, data });

function client(wx, options = {}) {
  const waits = [];
  const ended = [];
  const c = new Client({
    baseURL: base + "/",
    request: wx.request,
    tokens: memoryTokens({ access_token: "at-1", token_type: "Bearer", expires_in: 900, refresh_token: "rt-1" }),
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    now: () => Date.parse("2026-12-05T12:00:00Z"),
    onSessionEnded: (why) => ended.push(why.code),
    ...options,
  });
  return { c, waits, ended };
}

test("an expired access token is refreshed once and the request sent again", async () => {
  const wx = fakeWx({
    "GET /api/v1/me/account": [problem(401, "auth.token_expired"), ok({ balance_fen: 1 })],
    "POST /api/v1/auth/refresh": [ok({ access_token: "at-2", token_type: "Bearer", expires_in: 900, refresh_token: "rt-2" })],
  });
  const { c, ended } = client(wx);
  const reply = await c.get("/api/v1/me/account");
  assert.equal(reply.data.balance_fen, 1);
  const [first, refresh, again] = wx.sent;
  assert.equal(first.header.Authorization, "Bearer at-1");
  assert.equal(refresh.path, "/api/v1/auth/refresh");
  assert.equal(refresh.header.Authorization, undefined, "refresh carries no access token");
  assert.deepEqual(refresh.body, { refresh_token: "rt-1" });
  assert.equal(again.header.Authorization, "Bearer at-2");
  assert.equal(c.tokens.refresh_token, "rt-2");
  assert.deepEqual(ended, []);
});

test("concurrent 401s share one refresh: a refresh token is single use", async () => {
  const wx = fakeWx({
    "GET /api/v1/me/account": [problem(401, "auth.token_expired"), ok({ n: 1 })],
    "GET /api/v1/me/home": [problem(401, "auth.token_expired"), ok({ n: 2 })],
    "POST /api/v1/auth/refresh": [ok({ access_token: "at-2", token_type: "Bearer", expires_in: 900, refresh_token: "rt-2" })],
  });
  const { c } = client(wx);
  const [a, b] = await Promise.all([c.get("/api/v1/me/account"), c.get("/api/v1/me/home")]);
  assert.deepEqual([a.data.n, b.data.n], [1, 2]);
  assert.equal(wx.sent.filter((s) => s.path === "/api/v1/auth/refresh").length, 1);
  assert.ok(wx.sent.slice(-2).every((s) => s.header.Authorization === "Bearer at-2"));
});

test("a refused refresh ends the session: tokens forgotten, onSessionEnded told once", async () => {
  const wx = fakeWx({
    "GET /api/v1/me/account": [problem(401, "auth.token_expired")],
    "POST /api/v1/auth/refresh": [problem(401, "auth.refresh_reused")],
  });
  const { c, ended } = client(wx);
  await assert.rejects(c.get("/api/v1/me/account"), (e) => e instanceof ProblemError && e.code === "auth.refresh_reused");
  assert.equal(c.tokens, undefined);
  assert.deepEqual(ended, ["auth.refresh_reused"]);
});

test("a revoked session is not refreshed", async () => {
  const wx = fakeWx({ "GET /api/v1/me/account": [problem(401, "auth.session_revoked")] });
  const { c, ended } = client(wx);
  await assert.rejects(c.get("/api/v1/me/account"), { code: "auth.session_revoked" });
  assert.equal(wx.sent.length, 1);
  assert.deepEqual(ended, ["auth.session_revoked"]);
});

test("a refresh that cannot be made now (503) keeps the session", async () => {
  const wx = fakeWx({
    "GET /api/v1/me/account": [problem(401, "auth.token_expired")],
    "POST /api/v1/auth/refresh": [problem(503, "service.unavailable")],
  });
  const { c, ended } = client(wx);
  await assert.rejects(c.get("/api/v1/me/account"), { code: "service.unavailable" });
  assert.equal(c.tokens.refresh_token, "rt-1");
  assert.deepEqual(ended, []);
});

test("429 with Retry-After: a GET waits it out with jitter and tries again", async () => {
  const wx = fakeWx({
    "GET /api/v1/me/deposits": [problem(429, "rate_limited", { retry_after: 2 }, { "Retry-After": "2" }), ok({ items: [] })],
  });
  const { c, waits } = client(wx);
  const reply = await c.get("/api/v1/me/deposits", { params: { query: { limit: 5, cursor: "a b" } } });
  assert.deepEqual(reply.data, { items: [] });
  assert.deepEqual(waits, [2000 + 500], "Retry-After plus random() × jitterMs");
  assert.equal(wx.sent.length, 2);
  assert.match(wx.sent[0].url, /\/api\/v1\/me\/deposits\?limit=5&cursor=a%20b$/);
});

test("429: a write with an Idempotency-Key is sent again with the same key and body", async () => {
  const wx = fakeWx({
    "POST /api/v1/me/withdrawals": [
      problem(429, "rate_limited", {}, { "retry-after": "1" }),
      { statusCode: 202, header: { "content-type": "application/json", "Idempotent-Replayed": "false" }, data: { id: "w1" } },
    ],
  });
  const { c, waits } = client(wx);
  const body = { type: "rent", amount_fen: 100_00, payout: { account_id: "p1" } };
  const reply = await c.post("/api/v1/me/withdrawals", { params: { header: { "Idempotency-Key": "k-1" } }, body });
  assert.equal(reply.status, 202);
  assert.equal(reply.header["idempotent-replayed"], "false");
  assert.deepEqual(waits, [1500]);
  assert.deepEqual(wx.sent.map((s) => [s.header["Idempotency-Key"], s.body]), [["k-1", body], ["k-1", body]]);
});

test("429: a write without an Idempotency-Key is never sent twice", async () => {
  const wx = fakeWx({ "POST /api/v1/me/applications/c1/rating": [problem(429, "rate_limited", {}, { "Retry-After": "1" })] });
  const { c, waits } = client(wx);
  await assert.rejects(
    c.post("/api/v1/me/applications/{id}/rating", { params: { path: { id: "c1" } }, body: { stars: 5 } }),
    (e) => e instanceof ProblemError && e.status === 429 && e.retryAfter === 1,
  );
  assert.deepEqual(waits, []);
  assert.equal(wx.sent.length, 1);
});

test("retries are bounded, and a Retry-After too long is thrown, not waited", async () => {
  const limited = () => problem(429, "rate_limited", {}, { "Retry-After": "1" });
  const wx = fakeWx({ "GET /api/v1/me/home": [limited(), limited(), limited(), ok({})] });
  const { c, waits } = client(wx);
  await assert.rejects(c.get("/api/v1/me/home"), { code: "rate_limited" });
  assert.equal(wx.sent.length, 3, "the first try and maxRetries (2) more");
  assert.equal(waits.length, 2);

  const closed = fakeWx({ "GET /api/v1/me/home": [problem(503, "service.outside_hours", {}, { "Retry-After": "3600" })] });
  const second = client(closed);
  await assert.rejects(second.c.get("/api/v1/me/home"), (e) => e.code === "service.outside_hours" && e.retryAfter === 3600);
  assert.deepEqual(second.waits, []);
});

test("503 is tried again only when it says when", async () => {
  const wx = fakeWx({
    "GET /api/v1/me/home": [problem(503, "service.unavailable", {}, { "Retry-After": "Sat, 05 Dec 2026 12:00:02 GMT" }), ok({ n: 1 }), problem(503, "service.closed")],
  });
  const { c, waits } = client(wx);
  assert.equal((await c.get("/api/v1/me/home")).data.n, 1);
  assert.deepEqual(waits, [2000 + 500], "an HTTP-date Retry-After counts from now()");
  await assert.rejects(c.get("/api/v1/me/home"), { code: "service.closed" });
  assert.equal(wx.sent.length, 3);
});

test("problem+json becomes a typed error: code, title, detail, params, fields", async () => {
  const wx = fakeWx({
    "POST /api/v1/me/certificates": [
      problem(403, "auth.step_up_required", { required_acr: "face", max_age: 300, title: "需要人脸核验", detail: "请先完成人脸核验" }),
    ],
    "GET /api/v1/loan/calculator": [
      // wx.request leaves a body it could not parse as text; the client decodes it by content type.
      {
        statusCode: 400,
        header: { "Content-Type": "application/problem+json; charset=utf-8" },
        data: JSON.stringify({ type: "urn:handheld:problem:request.invalid", title: "Invalid", status: 400, detail: "one field",
          code: "request.invalid", request_id: "r2", errors: [{ field: "months", code: "range", message: "1..360" }] }),
      },
    ],
    "GET /api/v1/me/ecard/qr.png": [
      { statusCode: 404, header: { "content-type": "application/problem+json" }, data: new TextEncoder().encode('{"code":"not_found","title":"找不到","detail":"","status":404,"type":"x","request_id":"r3"}').buffer },
    ],
  });
  const { c } = client(wx);
  const err = await c.post("/api/v1/me/certificates", {
    params: { header: { "Idempotency-Key": "k" } }, body: { type: "deposit_use", purpose: "x" },
  }).catch((e) => e);
  assert.ok(err instanceof ProblemError);
  assert.deepEqual(
    { status: err.status, code: err.code, title: err.title, detail: err.detail, requestId: err.requestId, params: err.params },
    { status: 403, code: "auth.step_up_required", title: "需要人脸核验", detail: "请先完成人脸核验", requestId: "req-1", params: { required_acr: "face", max_age: 300 } },
  );

  const invalid = await c.get("/api/v1/loan/calculator", { params: { query: { principal_fen: 1, months: 0 } } }).catch((e) => e);
  assert.equal(invalid.code, "request.invalid");
  assert.deepEqual(invalid.errors, [{ field: "months", code: "range", message: "1..360" }]);

  const missing = await c.get("/api/v1/me/ecard/qr.png", { responseType: "arraybuffer" }).catch((e) => e);
  assert.equal(missing.code, "not_found");
  assert.equal(missing.title, "找不到", "UTF-8 bytes decoded");
});

test("a response that is not a problem keeps its status", async () => {
  const wx = fakeWx({ "GET /readyz": [{ statusCode: 502, header: { "content-type": "text/html" }, data: "<html>bad gateway</html>" }] });
  const { c } = client(wx);
  await assert.rejects(c.get("/readyz"), (e) => e instanceof ProblemError && e.status === 502 && e.code === "http.502");
});

test("no answer at all is a NetworkError", async () => {
  const wx = fakeWx({ "GET /healthz": [{ fail: "request:fail timeout" }] });
  const { c } = client(wx);
  await assert.rejects(c.get("/healthz"), { name: "NetworkError", message: "request:fail timeout" });
});

test("sign-in answers become the session; step-up keeps the refresh token; logout forgets", async () => {
  const wx = fakeWx({
    "POST /api/v1/auth/bind": [ok({ access_token: "at-9", token_type: "Bearer", expires_in: 900, refresh_token: "rt-9" })],
    "POST /api/v1/auth/step-up": [ok({ access_token: "at-10", token_type: "Bearer", expires_in: 900 })],
    "POST /api/v1/auth/logout": [{ statusCode: 204, header: {}, data: "" }],
  });
  const { c } = client(wx, { tokens: memoryTokens(), lang: "en" });
  await c.post("/api/v1/auth/bind", { auth: "bt-1", body: { name: "张伟", id_number: "110101199001011234" } });
  assert.equal(wx.sent[0].header.Authorization, "Bearer bt-1", "the binding token, as asked");
  assert.equal(wx.sent[0].header["Accept-Language"], "en");
  assert.deepEqual(c.tokens, { access_token: "at-9", token_type: "Bearer", expires_in: 900, refresh_token: "rt-9" });
  await c.post("/api/v1/auth/step-up", { body: { face_result: "face:demo" } });
  assert.equal(wx.sent[1].header.Authorization, "Bearer at-9");
  assert.deepEqual([c.tokens.access_token, c.tokens.refresh_token], ["at-10", "rt-9"]);
  const out = await c.post("/api/v1/auth/logout");
  assert.equal(out.status, 204);
  assert.equal(c.tokens, undefined);
});

test("Retry-After parses seconds and HTTP dates", () => {
  const now = Date.parse("2026-12-05T12:00:00Z");
  assert.equal(retryAfterMs("7", now), 7000);
  assert.equal(retryAfterMs(" 0 ", now), 0);
  assert.equal(retryAfterMs("Sat, 05 Dec 2026 12:01:00 GMT", now), 60_000);
  assert.equal(retryAfterMs("Sat, 05 Dec 2026 11:00:00 GMT", now), 0, "a date passed is now");
  assert.equal(retryAfterMs("soon", now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
});
