package sharing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"handheld/services/sharing"
	"handheld/services/sharingsim"
)

// validating checks every request the client sends and every answer the
// simulator gives against services/sharing/openapi.yaml.
type validating struct {
	t    *testing.T
	v    validator.Validator
	next http.RoundTripper
}

func (v validating) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if ok, errs := v.v.ValidateHttpRequestResponse(check, resp); !ok {
		for _, e := range errs {
			v.t.Errorf("%s %s -> %d: %s: %s (%s)", req.Method, req.URL.Path, resp.StatusCode, e.Message, e.Reason, raw)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp, nil
}

func TestOpenAPIDescribesTheSimulator(t *testing.T) {
	doc, err := libopenapi.NewDocument(sharing.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("openapi.yaml: %v", verrs)
	}
	sim := sharingsim.New(sharingsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := sharing.NewClient(sharing.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret), BreakerFailures: 100,
		HTTPClient: &http.Client{Transport: validating{t: t, v: v, next: http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"张伟", "李娜", "欧阳晓峰", "王芳", "吴敏", "赵建国", "周强", "陈静"} {
		for _, fact := range sharing.Facts() {
			src, _ := sharing.FactSource(fact)
			_, _ = c.Ask(ctx, sharing.Query{Source: src, Fact: fact, Purpose: "purchase", ConsentRef: "cns_x",
				Subject: sharing.Subject{IDNumber: sharingsim.DemoID(name), Name: name}})
		}
	}
	sim.SetOutage(true)
	_, _ = c.Ask(ctx, deedOf(sharingsim.DemoID("李娜"), "李娜"))
	if err := c.Health(ctx); err == nil {
		t.Fatal("health during the outage")
	}
}
