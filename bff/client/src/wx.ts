// A small client for handheld's API over the WeChat mini-program's
// wx.request, typed by schema.ts (generated from bff/openapi.yaml).
//
// It holds the session's tokens and sends the access token; refreshes it
// once when an answer is 401 auth.token_expired (one refresh at a time:
// refresh tokens are single use, and presenting a used one ends the
// session); turns problem+json answers into ProblemError; and waits out
// Retry-After on 429 and 503 for requests that are safe to send again:
// idempotent methods and writes that carry an Idempotency-Key.

import type { components, paths } from "./schema.js";

// ---- the part of the mini-program's API this client uses ----------------

/** The methods wx.request accepts. */
export type WxMethod = "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS";

/** What wx.request takes (the fields this client sets). */
export interface WxRequestOption {
  url: string;
  method?: WxMethod;
  data?: string | object | ArrayBuffer;
  header?: Record<string, string>;
  timeout?: number;
  dataType?: "json" | "other";
  responseType?: "text" | "arraybuffer";
  success?: (res: WxRequestSuccess) => void;
  fail?: (err: WxRequestFail) => void;
}

/** A response as wx.request hands it over: any status, parsed JSON when it could be. */
export interface WxRequestSuccess {
  data: string | object | ArrayBuffer;
  statusCode: number;
  header: Record<string, string>;
}

/** A request that got no response (network, timeout, domain not allowed). */
export interface WxRequestFail {
  errMsg: string;
  errno?: number;
}

/** wx.request's signature; tests pass a fake. */
export type WxRequest = (option: WxRequestOption) => unknown;

/** The storage calls storageTokens uses. */
export interface WxStorage {
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: unknown): void;
  removeStorageSync(key: string): void;
}

declare function setTimeout(callback: () => void, ms: number): unknown;

/** The mini-program's global wx, where there is one. */
function globalWx(): (Partial<WxStorage> & { request?: WxRequest }) | undefined {
  return (globalThis as { wx?: Partial<WxStorage> & { request?: WxRequest } }).wx;
}

// ---- types derived from the API document --------------------------------

/** The lower-case methods of the document's operations. */
export type Method = "get" | "put" | "post" | "delete" | "patch";

/** The paths that have an operation for method M. */
export type PathsFor<M extends Method> = {
  [P in keyof paths]: paths[P] extends { [K in M]: object } ? P : never;
}[keyof paths];

/** The operation at path P and method M. */
export type Operation<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;

type SuccessStatus = 200 | 201 | 202 | 204;

type BodyOf<R> = R extends { content: { "application/json": infer B } }
  ? B
  : R extends { content?: never }
    ? undefined
    : ArrayBuffer | string;

/** The body of an operation's successful answers. */
export type ResponseData<O> = O extends { responses: infer R }
  ? { [S in keyof R & SuccessStatus]: BodyOf<R[S]> }[keyof R & SuccessStatus]
  : never;

type Defined<T> = { [K in keyof T as [Exclude<T[K], undefined>] extends [never] ? never : K]: T[K] };

/** The path, query and header parameters an operation takes. */
export type ParamsOf<O> = O extends { parameters: infer P } ? Defined<P> & {} : {};

type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];

type ParamsInit<O> = [RequiredKeys<ParamsOf<O>>] extends [never] ? { params?: ParamsOf<O> } : { params: ParamsOf<O> };

type BodyInit<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? { body: B }
  : O extends { requestBody?: never }
    ? { body?: undefined }
    : O extends { requestBody?: { content: { "application/json": infer B } } }
      ? { body?: B }
      : { body?: unknown };

/** Per-request options any operation takes. */
export interface CommonInit {
  /**
   * The bearer token to send instead of the session's access token (a
   * binding or device token), or false for none.
   */
  auth?: string | false;
  /** Extra request headers. */
  header?: Record<string, string>;
  /** For the binary answers (a PNG, a PDF). */
  responseType?: "text" | "arraybuffer";
  /** wx.request's timeout in milliseconds. */
  timeout?: number;
}

/** What a call to operation O takes. */
export type Init<O> = ParamsInit<O> & BodyInit<O> & CommonInit;

type InitArgs<O> = [RequiredKeys<Init<O>>] extends [never] ? [init?: Init<O>] : [init: Init<O>];

/** A successful answer. */
export interface Reply<T> {
  status: number;
  data: T;
  /** Response headers, names in lower case. */
  header: Record<string, string>;
}

/** A session's tokens, as the sign-in routes answer them. */
export type Tokens = components["schemas"]["Tokens"];

/** An RFC 9457 problem as the API sends it. */
export type Problem = components["schemas"]["Problem"];

// ---- errors --------------------------------------------------------------

/** The members every problem has; the rest are its params. */
const problemCore = new Set(["type", "title", "status", "detail", "code", "request_id", "errors"]);

/**
 * An answer of application/problem+json: code is stable and machine-readable,
 * title and detail are in the caller's language, params are the problem's
 * other members (retry_after, required_acr, max_age, ...).
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly requestId: string;
  /** Invalid fields, for request.invalid. */
  readonly errors: NonNullable<Problem["errors"]>;
  readonly params: Record<string, unknown>;
  /** Seconds to wait before trying again, from Retry-After, when sent. */
  readonly retryAfter?: number;

  constructor(status: number, body: Partial<Problem> & Record<string, unknown>, retryAfter?: number) {
    super(`${status} ${body.code ?? "unknown"}: ${body.detail || body.title || ""}`);
    this.name = "ProblemError";
    this.status = body.status ?? status;
    this.code = body.code ?? "unknown";
    this.title = body.title ?? "";
    this.detail = body.detail ?? "";
    this.requestId = body.request_id ?? "";
    this.errors = body.errors ?? [];
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (!problemCore.has(k)) params[k] = v;
    }
    this.params = params;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** A request that got no HTTP answer at all. */
export class NetworkError extends Error {
  readonly errno?: number;
  constructor(fail: WxRequestFail) {
    super(fail.errMsg);
    this.name = "NetworkError";
    if (fail.errno !== undefined) this.errno = fail.errno;
  }
}

// ---- token storage -------------------------------------------------------

/** Where the client keeps the session's tokens between calls. */
export interface TokenStore {
  load(): Tokens | undefined;
  save(tokens: Tokens | undefined): void;
}

/** Tokens kept in memory only: gone when the mini-program is. */
export function memoryTokens(initial?: Tokens): TokenStore {
  let tokens = initial;
  return { load: () => tokens, save: (t) => void (tokens = t) };
}

/** Tokens kept in the mini-program's storage under key, so a restart keeps the session. */
export function storageTokens(key = "handheld.tokens", storage: WxStorage | undefined = globalWx() as WxStorage): TokenStore {
  if (!storage?.getStorageSync) throw new Error("storageTokens: no wx storage");
  return {
    load: () => {
      const t = storage.getStorageSync(key) as Tokens | "" | undefined;
      return t && typeof t === "object" && typeof t.access_token === "string" ? t : undefined;
    },
    save: (t) => (t ? storage.setStorageSync(key, t) : storage.removeStorageSync(key)),
  };
}

// ---- the client ----------------------------------------------------------

/** How a Client is set up; only baseURL is required. */
export interface ClientOptions {
  /** The API's origin, e.g. https://gjj.example.cn (no trailing slash). */
  baseURL: string;
  /** Default: in memory. */
  tokens?: TokenStore;
  /** Accept-Language: zh-CN (the API's default) or en. */
  lang?: string;
  /** How many times a 429/503 with Retry-After is tried again (default 2). */
  maxRetries?: number;
  /** A Retry-After longer than this is not waited out but thrown (default 10 000 ms). */
  maxRetryAfterMs?: number;
  /** Up to this much is added at random to each wait, so clients told the same Retry-After do not return together (default 1 000 ms). */
  jitterMs?: number;
  /** Called once when the session cannot go on (refresh refused, revoked): sign in again. */
  onSessionEnded?: (why: ProblemError) => void;
  /** wx.request; default the global wx's. */
  request?: WxRequest;
  /** Waits ms; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1); default Math.random. */
  random?: () => number;
  /** Milliseconds since the epoch, for Retry-After dates; default Date.now. */
  now?: () => number;
}

const refreshPath = "/api/v1/auth/refresh";
const logoutPath = "/api/v1/auth/logout";
/** Routes that start a session, where the session's own token has no place. */
const signInPaths = new Set<string>([refreshPath, "/api/v1/auth/wechat", "/api/v1/auth/employer",
  "/api/v1/auth/verifier", "/api/v1/kiosk/session"]);
const idempotentMethods = new Set<string>(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/** Client calls handheld's API. One per session (and per kiosk device). */
export class Client {
  private readonly o: Required<Omit<ClientOptions, "onSessionEnded" | "lang">> & Pick<ClientOptions, "onSessionEnded" | "lang">;
  private refreshing: Promise<void> | undefined;

  constructor(options: ClientOptions) {
    const request = options.request ?? globalWx()?.request;
    if (!request) throw new Error("Client: no wx.request; pass options.request");
    this.o = {
      tokens: memoryTokens(),
      maxRetries: 2,
      maxRetryAfterMs: 10_000,
      jitterMs: 1_000,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      now: Date.now,
      ...options,
      baseURL: options.baseURL.replace(/\/+$/, ""),
      request,
    };
  }

  /** The session's tokens, if signed in. */
  get tokens(): Tokens | undefined {
    return this.o.tokens.load();
  }

  /** Forgets the session's tokens (without telling the server: see logout). */
  signOut(): void {
    this.o.tokens.save(undefined);
  }

  /** GET an operation. */
  get<P extends PathsFor<"get">>(path: P, ...init: InitArgs<Operation<P, "get">>): Promise<Reply<ResponseData<Operation<P, "get">>>> {
    return this.request("get", path, ...init);
  }

  /** POST an operation. */
  post<P extends PathsFor<"post">>(path: P, ...init: InitArgs<Operation<P, "post">>): Promise<Reply<ResponseData<Operation<P, "post">>>> {
    return this.request("post", path, ...init);
  }

  /**
   * Calls an operation. Tokens answered by the sign-in routes
   * (/api/v1/auth/*, /api/v1/kiosk/session) become the session's; a
   * successful logout forgets them.
   */
  async request<M extends Method, P extends PathsFor<M>>(
    method: M,
    path: P,
    ...[init]: InitArgs<Operation<P, M>>
  ): Promise<Reply<ResponseData<Operation<P, M>>>> {
    const i = (init ?? {}) as CommonInit & { params?: { path?: object; query?: object; header?: object }; body?: unknown };
    const reply = await this.send(method.toUpperCase() as WxMethod, path, i, false);
    this.adoptTokens(path, reply);
    return reply as Reply<ResponseData<Operation<P, M>>>;
  }

  private async send(
    method: WxMethod,
    path: string,
    init: CommonInit & { params?: { path?: object; query?: object; header?: object }; body?: unknown },
    refreshed: boolean,
  ): Promise<Reply<unknown>> {
    const url = this.o.baseURL + fillPath(path, init.params?.path) + queryString(init.params?.query);
    const header: Record<string, string> = { Accept: "application/json, application/problem+json" };
    if (this.o.lang) header["Accept-Language"] = this.o.lang;
    for (const [k, v] of Object.entries(init.params?.header ?? {})) {
      if (v !== undefined && v !== null) header[k] = String(v);
    }
    Object.assign(header, init.header);
    let sentToken: string | undefined;
    if (init.auth !== undefined) {
      if (init.auth) header.Authorization = `Bearer ${init.auth}`;
    } else if (!signInPaths.has(path)) {
      sentToken = this.o.tokens.load()?.access_token;
      if (sentToken) header.Authorization = `Bearer ${sentToken}`;
    }
    if (init.body !== undefined) header["Content-Type"] = "application/json";
    const retryable = idempotentMethods.has(method) || Object.keys(header).some((k) => k.toLowerCase() === "idempotency-key");

    for (let attempt = 0; ; attempt++) {
      const res = await this.call({
        url,
        method,
        header,
        dataType: "json",
        responseType: init.responseType ?? "text",
        ...(init.body !== undefined ? { data: JSON.stringify(init.body) } : {}),
        ...(init.timeout !== undefined ? { timeout: init.timeout } : {}),
      });
      const h = lowerKeys(res.header);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        return { status: res.statusCode, data: res.statusCode === 204 ? undefined : decodeBody(res.data, h), header: h };
      }
      const wait = retryAfterMs(h["retry-after"], this.o.now());
      const problem = toProblem(res.statusCode, res.data, h, wait);

      if ((res.statusCode === 429 || res.statusCode === 503) && retryable && wait !== undefined &&
        attempt < this.o.maxRetries && wait <= this.o.maxRetryAfterMs) {
        await this.o.sleep(wait + Math.floor(this.o.random() * this.o.jitterMs));
        continue;
      }
      if (res.statusCode === 401 && sentToken !== undefined) {
        if (problem.code === "auth.token_expired" && !refreshed && (await this.refresh(sentToken, problem))) {
          return this.send(method, path, init, true);
        }
        this.endSession(problem); // revoked, idle, or still refused after a refresh
      }
      throw problem;
    }
  }

  /**
   * Gets a new access token for the one that expired. Concurrent callers
   * share one refresh; a caller whose token was already replaced just
   * uses the new one. Answers whether there is a token to try again with.
   */
  private async refresh(expired: string, why: ProblemError): Promise<boolean> {
    const current = this.o.tokens.load();
    if (current && current.access_token !== expired) return true;
    if (!current?.refresh_token) {
      this.endSession(why);
      return false;
    }
    if (!this.refreshing) {
      const refreshToken = current.refresh_token;
      this.refreshing = (async () => {
        try {
          const reply = await this.send("POST", refreshPath, { auth: false, body: { refresh_token: refreshToken } }, true);
          this.o.tokens.save(reply.data as Tokens);
        } catch (e) {
          // Refused (used, revoked, expired): the session is over. Anything
          // else (429, 503, no network) keeps the tokens for a later try.
          if (e instanceof ProblemError && e.status === 401) this.endSession(e);
          throw e;
        } finally {
          this.refreshing = undefined;
        }
      })();
    }
    await this.refreshing;
    return true;
  }

  private endSession(why: ProblemError): void {
    const had = this.o.tokens.load() !== undefined;
    this.o.tokens.save(undefined);
    if (had) this.o.onSessionEnded?.(why);
  }

  private adoptTokens(path: string, reply: Reply<unknown>): void {
    if (path === logoutPath) {
      this.o.tokens.save(undefined);
      return;
    }
    if (!path.startsWith("/api/v1/auth/") && path !== "/api/v1/kiosk/session") return;
    const t = reply.data as Partial<Tokens> | undefined;
    if (!t || typeof t !== "object" || typeof t.access_token !== "string") return;
    // Step-up answers a new access token for the same session, without a
    // refresh token: keep the one there is.
    const refresh_token = t.refresh_token ?? (path === "/api/v1/auth/step-up" ? this.o.tokens.load()?.refresh_token : undefined);
    this.o.tokens.save({ ...(t as Tokens), ...(refresh_token ? { refresh_token } : {}) });
  }

  private call(option: WxRequestOption): Promise<WxRequestSuccess> {
    return new Promise((resolve, reject) => {
      this.o.request({ ...option, success: resolve, fail: (err) => reject(new NetworkError(err)) });
    });
  }
}

// ---- helpers ------------------------------------------------------------

function fillPath(path: string, params: object | undefined): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = (params as Record<string, unknown> | undefined)?.[name];
    if (v === undefined || v === null) throw new Error(`path parameter ${name} missing for ${path}`);
    return encodeURIComponent(String(v));
  });
}

function queryString(query: object | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null) continue;
    for (const item of Array.isArray(v) ? v : [v]) {
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(item))}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function lowerKeys(header: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(header ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/**
 * Retry-After in milliseconds from now: delta-seconds or an HTTP date
 * (RFC 9110 §10.2.3); undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A JSON body wx.request left as text or bytes (content types it did not parse). */
function decodeBody(data: WxRequestSuccess["data"], header: Record<string, string>): unknown {
  const json = /json/i.test(header["content-type"] ?? "");
  if (!json) return data;
  const text = typeof data === "string" ? data : data instanceof ArrayBuffer ? utf8(data) : undefined;
  if (text === undefined) return data;
  try {
    return JSON.parse(text);
  } catch {
    return data;
  }
}

function toProblem(status: number, data: WxRequestSuccess["data"], header: Record<string, string>, wait: number | undefined): ProblemError {
  const body = decodeBody(data, header);
  const retryAfter = wait === undefined ? undefined : Math.ceil(wait / 1000);
  if (body && typeof body === "object" && !(body instanceof ArrayBuffer) && typeof (body as Problem).code === "string") {
    return new ProblemError(status, body as Problem & Record<string, unknown>, retryAfter);
  }
  // Not from handheld (a proxy's page, a gateway timeout): keep the status.
  return new ProblemError(status, { status, code: "http." + status, title: "", detail: typeof body === "string" ? body.slice(0, 200) : "" }, retryAfter);
}

function utf8(buf: ArrayBuffer): string {
  const TD = (globalThis as { TextDecoder?: new () => { decode(b: ArrayBuffer): string } }).TextDecoder;
  if (TD) return new TD().decode(buf);
  let escaped = "";
  for (const b of new Uint8Array(buf)) escaped += "%" + b.toString(16).padStart(2, "0");
  return decodeURIComponent(escaped);
}
