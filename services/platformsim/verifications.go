package platformsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"handheld/services/core"
	"handheld/services/platform"
)

// CallVerifications counts certificate verifications relayed to an
// issuing centre (signed calls from a centre and /_sim calls alike).
const CallVerifications = "verifications"

// forwardTimeout bounds one forwarded verification.
const forwardTimeout = 5 * time.Second

// SetCentreURL registers where a centre serves the platform's calls (its
// base URL: the verification endpoint is
// platform.PathCentreCertificateVerifications under it). Only a centre
// with a URL can be asked to verify a certificate; the simulated centres
// hold none.
func (s *Sim) SetCentreURL(code, baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endpoints == nil {
		s.endpoints = map[string]string{}
	}
	s.endpoints[code] = strings.TrimRight(baseURL, "/")
}

// Verify relays a certificate verification to the issuing centre, signed
// with the platform's own key (Config.PlatformKeyID and PlatformSecret),
// and returns the centre's status and body as they came. A malformed
// request is 400 invalid, a centre the platform does not know 400
// unknown_centre, an issuing centre without an endpoint 404 not_found, an
// issuing centre that does not answer 503 unavailable.
func (s *Sim) Verify(ctx context.Context, v platform.CertificateVerification) (int, []byte) {
	switch {
	case v.VerifyCode == "" || len(v.VerifyCode) > 64 || v.IssuingCentre == v.VerifyingCentre:
		return problemBody(http.StatusBadRequest, platform.ProblemInvalid)
	case !s.known(v.IssuingCentre) || !s.known(v.VerifyingCentre):
		return problemBody(http.StatusBadRequest, platform.ProblemUnknownCentre)
	}
	s.mu.Lock()
	base, ok := s.endpoints[v.IssuingCentre]
	s.mu.Unlock()
	if !ok {
		return problemBody(http.StatusNotFound, platform.ProblemNotFound)
	}
	body, _ := json.Marshal(platform.ForwardedVerification{VerifyCode: v.VerifyCode, VerifyingCentre: v.VerifyingCentre})
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+platform.PathCentreCertificateVerifications, bytes.NewReader(body))
	if err != nil {
		return problemBody(http.StatusServiceUnavailable, platform.ProblemUnavailable)
	}
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	nonce, ts := hex.EncodeToString(nb[:]), s.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(platform.HeaderKeyID, s.cfg.PlatformKeyID)
	req.Header.Set(platform.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(platform.HeaderNonce, nonce)
	req.Header.Set(platform.HeaderSignature, core.Sign(s.cfg.PlatformSecret, http.MethodPost, req.URL.EscapedPath(), ts, nonce, body))
	client := s.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return problemBody(http.StatusServiceUnavailable, platform.ProblemUnavailable)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return problemBody(http.StatusServiceUnavailable, platform.ProblemUnavailable)
	}
	return resp.StatusCode, raw
}

// verifyCertificate is POST /platform/v1/certificate-verifications from a
// lending centre: the issuing centre's answer passed on, a not-found as
// not_found, anything else it says as unavailable.
func (s *Sim) verifyCertificate(w http.ResponseWriter, r *http.Request, body []byte) {
	var v platform.CertificateVerification
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		problem(w, http.StatusBadRequest, platform.ProblemInvalid)
		return
	}
	status, raw := s.Verify(r.Context(), v)
	switch status {
	case http.StatusOK:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(raw)
	case http.StatusNotFound:
		problem(w, http.StatusNotFound, platform.ProblemNotFound)
	case http.StatusBadRequest:
		var p platform.Problem
		_ = json.Unmarshal(raw, &p)
		if p.Code != platform.ProblemUnknownCentre {
			p.Code = platform.ProblemInvalid
		}
		problem(w, http.StatusBadRequest, p.Code)
	default:
		problem(w, http.StatusServiceUnavailable, platform.ProblemUnavailable)
	}
}

// simVerify is POST /_sim/certificate-verifications: the simulator acting
// as the verifying centre (Beijing, say), with the issuing centre's
// answer (status and body) passed back exactly as it came.
func (s *Sim) simVerify(w http.ResponseWriter, r *http.Request) {
	var v platform.CertificateVerification
	if err := decodeStrict(w, r, &v); err != nil {
		adminError(w, err)
		return
	}
	s.count(CallVerifications)
	status, raw := s.Verify(r.Context(), v)
	w.Header().Set("Content-Type", "application/json")
	if status != http.StatusOK {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

// problemBody is the platform's error body with its status.
func problemBody(status int, code string) (int, []byte) {
	raw, _ := json.Marshal(platform.Problem{Code: code})
	return status, raw
}
