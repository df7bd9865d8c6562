package e2e

import (
	"testing"

	"handheld/bff"
)

func TestVerifierSignIn(t *testing.T) {
	t.Parallel()
	e := start(t)
	r := e.do("POST", "/api/v1/auth/verifier", map[string]string{"client_id": bff.DemoVerifierID, "client_secret": bff.DemoVerifierSecret}, nil)
	var tok tokens
	r.json(t, &tok)
	if r.StatusCode != 200 || tok.AccessToken == "" || tok.RefreshToken != "" {
		t.Fatalf("verifier sign-in: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, e.do("GET", "/api/v1/me/session", nil, bearer(tok.AccessToken)), 403, "auth.forbidden")
	wantProblem(t, e.do("POST", "/api/v1/auth/verifier", map[string]string{"client_id": bff.DemoVerifierID, "client_secret": "wrong"}, nil), 401, "auth.bad_credentials")
	wantProblem(t, e.do("POST", "/api/v1/auth/verifier", map[string]string{"client_id": "nobody", "client_secret": "x"}, nil), 401, "auth.bad_credentials")
	wantProblem(t, e.bad().do("POST", "/api/v1/auth/verifier", `{"client_id":"x"}`, nil), 400, "request.invalid")
}
