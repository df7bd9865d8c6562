// The client: the API's types (schema.ts, generated from bff/openapi.yaml by
// `make client`) and the wx.request wrapper (wx.ts).
export type { components, operations, paths } from "./schema.js";
export * from "./wx.js";
