package core

import _ "embed"

// OpenAPI is the core API contract as an OpenAPI 3.1 document, embedded so the
// BFF can serve it to a centre's integration team and tests can validate the
// simulator's answers against the very file that is published.
//
//go:embed openapi.yaml
var OpenAPI []byte
