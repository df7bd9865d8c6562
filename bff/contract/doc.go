// Package contract checks bff/openapi.yaml as a gateway would read it: its
// test lints the document with Spectral's OpenAPI rules and the OWASP API
// Security Top 10 rules (package.json, .spectral.yaml beside this file)
// and fails on any error. Whether the handlers keep the limits the
// document declares is checked by the e2e suite (e2e/contract_test.go).
package contract
