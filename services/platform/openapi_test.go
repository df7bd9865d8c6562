package platform_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"handheld/services/platform"
	"handheld/services/platformsim"
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
	doc, err := libopenapi.NewDocument(platform.OpenAPI)
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
	sim := platformsim.New(platformsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := platform.NewClient(platform.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret), BreakerFailures: 100,
		HTTPClient: &http.Client{Transport: validating{t: t, v: v, next: http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range [][2]string{{wuMinID, "吴敏"}, {ouyangID, "欧阳晓峰"}, {zhouQiangID, "周强"}, {chenJingID, "陈静"}} {
		if _, err := c.Accounts(ctx, query(p[0], p[1])); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Centres(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetBehaviour(platformsim.Behaviour{Centres: map[string]platformsim.CentreBehaviour{platformsim.CentreChengdu: {Down: true}}}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.Accounts(ctx, query(zhouQiangID, "周强"))
	for _, r := range []platform.DailyReport{dailyReport(1), dailyReport(1), func() platform.DailyReport {
		r := dailyReport(1)
		r.Services[0].Ratings.Satisfied++
		r.Totals.Ratings.Satisfied++
		return r
	}()} {
		_, _ = c.SendDailyReport(ctx, r)
	}
	tsim, tc, clk := transferRig(t, validating{t: t, v: v, next: http.DefaultTransport})
	exerciseTransfers(t, tsim, tc, clk)
	sim.SetOutage(true)
	_, _ = c.Accounts(ctx, query(wuMinID, "吴敏"))
	if err := c.Health(ctx); err == nil {
		t.Fatal("health during the outage")
	}
}
