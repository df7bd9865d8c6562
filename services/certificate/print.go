package certificate

import (
	"context"
	"encoding/json"

	"handheld/services"
)

// ActionPrint is the audit action of a kiosk print of a certificate.
const ActionPrint = "certificate.print"

// Printable is what a kiosk prints of a certificate: the print variant's
// PDF and the certificate's number (for the job's record).
type Printable struct {
	PDF    []byte
	Number string
}

// PrintCopy renders the print variant (black and white, large type) of
// one of p's own certificates, for services/printing. Another person's id
// is not found, exactly like an id that does not exist; a revoked or
// expired certificate is refused with print.certificate_not_valid rather
// than printed, since a paper copy would outlive its revocation. The copy
// is rendered again from the stored document, so it says what the issued
// one says, and every print is audited.
func (s *Service) PrintCopy(ctx context.Context, p services.Principal, id string) (Printable, error) {
	sc, err := scopeOf(p)
	if err != nil {
		return Printable{}, err
	}
	if _, err := s.mine(ctx, sc, id); err != nil {
		return Printable{}, err
	}
	r, _, document, err := s.file(ctx, id)
	if err == nil && s.status(r) != StatusValid {
		err = services.Errorf(services.CodePrintCertificateNotValid, "certificate: %s is %s", id, s.status(r))
	}
	var pdf []byte
	if err == nil {
		var d Document
		if err = json.Unmarshal(document, &d); err != nil {
			err = services.Errorf(services.CodeInternal, "certificate: stored document: %w", err)
		} else if pdf, err = s.Renderer.Render(d, r.Lang, VariantPrint); err != nil {
			err = services.Errorf(services.CodeInternal, "certificate: render print: %w", err)
		}
	}
	if err := s.audited(ctx, byHolder(p, ActionPrint, id), err); err != nil {
		return Printable{}, err
	}
	return Printable{PDF: pdf, Number: r.Number}, nil
}
