package certificate

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
)

// DownloadPath is where a certificate's PDF is served; download links are
// this path with the id and a signed ?t=<expiry>.<mac>. The service makes
// the links, so it names the path; bff/public serves it.
const DownloadPath = "/api/v1/certificates/"

// maxLinkToken bounds what is parsed of a t parameter.
const maxLinkToken = 128

// downloadURL is a fresh link to id's PDF, valid for LinkTTL.
func (s *Service) downloadURL(id string) string {
	return downloadURL(s.linkKey, id, s.Now().Add(s.LinkTTL))
}

// Link is the download link for certificate id until exp, made from the
// deployment's Secret exactly as the Service makes it. Links are stateless:
// any replica checks a link any other made, and so an operator's tool (or a
// test) with the secret can make one too.
func Link(secret services.HashKey, id string, exp time.Time) string {
	return downloadURL(secret.Derive(linkLabel), id, exp)
}

// linkLabel derives the link key from the shared secret.
const linkLabel = "handheld certificate download link"

func downloadURL(key services.HashKey, id string, exp time.Time) string {
	return DownloadPath + id + "/pdf?t=" + linkToken(key, id, exp.Unix())
}

// linkToken is <expiry unix seconds>.<base64url keyed hash of id and
// expiry>: a bearer capability for one certificate until the expiry, which
// anyone can read and no one can change without the secret.
func linkToken(key services.HashKey, id string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	return e + "." + base64.RawURLEncoding.EncodeToString(linkMAC(key, id, e))
}

func linkMAC(key services.HashKey, id, exp string) []byte {
	return key.Sum([]byte("pdf\x00" + id + "\x00" + exp))
}

// checkLink admits a t made by linkToken for id that has not expired. The
// MAC is checked first, so "expired" is only ever said of a link we made.
func (s *Service) checkLink(id, t string) error {
	exp, mac, ok := strings.Cut(t, ".")
	if !ok || len(t) > maxLinkToken || exp == "" {
		return services.Errorf(services.CodeCertificateLinkInvalid, "certificate: link token malformed")
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, linkMAC(s.linkKey, id, exp)) {
		return services.Errorf(services.CodeCertificateLinkInvalid, "certificate: link MAC mismatch")
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return services.Errorf(services.CodeCertificateLinkInvalid, "certificate: link expiry malformed")
	}
	if !s.Now().Before(time.Unix(sec, 0)) {
		return services.Errorf(services.CodeCertificateLinkExpired, "certificate: link expired")
	}
	return nil
}

// PDF serves a certificate behind a signed link: the stored PDF for the
// standard variant ("" too), whose SHA-256 is the pdf_sha256 the holder
// sees; or the print layout, rendered again from the stored document, the
// same bytes every time. A revoked certificate is not served (404). Every
// download is audited, and a download that cannot be is refused.
func (s *Service) PDF(ctx context.Context, id, t, variant string) ([]byte, error) {
	if variant == "" {
		variant = VariantStandard
	}
	if variant != VariantStandard && variant != VariantPrint {
		return nil, services.Invalid(services.FieldError{Field: "variant", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": VariantStandard + ", " + VariantPrint}})
	}
	if err := s.checkLink(id, t); err != nil {
		return nil, err
	}
	r, pdf, document, err := s.file(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Status == storedRevoked {
		return nil, services.Errorf(services.CodeNotFound, "certificate: revoked")
	}
	if purged(pdf) {
		return nil, services.Errorf(services.CodeCertificateFilePurged, "certificate: %s: files purged", id)
	}
	if variant == VariantPrint {
		var d Document
		if err := json.Unmarshal(document, &d); err != nil {
			return nil, services.Errorf(services.CodeInternal, "certificate: stored document: %w", err)
		}
		if pdf, err = s.Renderer.Render(d, r.Lang, VariantPrint); err != nil {
			return nil, services.Errorf(services.CodeInternal, "certificate: render print: %w", err)
		}
	}
	rec := audit.Record{Subject: r.Subject, Actor: "link", Channel: publicChannel, Action: ActionDownload, Target: "certificate:" + id}
	if err := s.audited(ctx, rec, nil); err != nil {
		return nil, err
	}
	return pdf, nil
}
