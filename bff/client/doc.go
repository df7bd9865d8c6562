// Package client holds what client developers build on: a TypeScript client
// for the WeChat mini-program generated from bff/openapi.yaml (src/, npm),
// the API document as last released (released/openapi.yaml) and the
// breaking changes announced since (announced.yaml). Its Go tests keep them
// honest: the generated types match the document, the TypeScript compiles
// and passes its tests, and no change breaks released clients unannounced.
package client
