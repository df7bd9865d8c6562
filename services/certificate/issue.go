package certificate

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/mask"
	"handheld/services/store"
	"handheld/services/usertext"
)

// Issued is the answer to an issue: where to get the PDF (a signed link
// that works for LinkTTL) and how anyone can check it (the verify code).
type Issued struct {
	ID          string
	Number      string
	Type        string
	VerifyCode  string // grouped, as printed: 7KQ2-M9XD-4T8W-J3HR
	VerifyURL   string
	DownloadURL string // relative: /api/v1/certificates/{id}/pdf?t=...
	IssuedAt    time.Time
	ExpiresAt   time.Time
	// Pending is set when the core was in its maintenance window (or
	// unreachable): ID names a certificate request, issued through the
	// outbox when the core returns (pending.go); IssuedAt is when it was
	// asked for, and nothing else is known yet.
	Pending bool
}

// Issue makes a certificate from the core's current facts: for a depositor
// their own (type deposit_use), for an employer's operator their unit's
// (type unit_deposit). The document is rendered, its hash signed (EdDSA
// JWS with the certificates key), the signature embedded by rendering
// again, and the whole stored in one transaction. A sealed or frozen
// account gets a certificate that states its status; a person without an
// account gets account.not_found. A unit in arrears gets a certificate that
// states the arrears. lang is the PDF's language (zh-CN or en); purpose is
// optional free text.
//
// A depositor's certificate asked for while the core is in its maintenance
// window or unreachable is accepted as pending (Issued.Pending) and issued
// for them through the outbox when the core returns.
func (s *Service) Issue(ctx context.Context, p services.Principal, typ, purpose, lang string) (Issued, error) {
	return s.IssueFor(ctx, p, Request{Type: typ, Purpose: purpose, Lang: lang})
}

// Request is what a holder asks to be issued: the type, an optional
// purpose, the PDF's language and, for a certificate for a loan elsewhere
// (loan_elsewhere) only, the lending centre's platform code.
type Request struct {
	Type, Purpose, Lang string
	ToCentre            string
}

// IssueFor is Issue with every field of a request: a loan_elsewhere
// certificate names its lending centre (ToCentre), which must be a centre
// on the national platform other than this one; any other type names none.
// A bad or unknown centre is refused before anything is read or written. A
// loan_elsewhere certificate is never accepted as pending: the lending
// centre is waiting for it, so the core being away is said at once.
func (s *Service) IssueFor(ctx context.Context, p services.Principal, q Request) (Issued, error) {
	sc, err := scopeOf(p)
	if err != nil {
		return Issued{}, err
	}
	typ, purpose, lang := q.Type, q.Purpose, q.Lang
	purpose, err = checkIssue(sc.issuable(), typ, purpose, lang, s.Renderer.Unprintable, q.ToCentre)
	if err != nil {
		return Issued{}, err
	}
	var to lending
	if typ == TypeLoanElsewhere {
		if to, err = s.lendingCentre(ctx, q.ToCentre); err != nil {
			return Issued{}, err
		}
	}
	out, id, err := s.issue(ctx, p, sc, typ, purpose, lang, to)
	if err != nil && coreAway(err) && sc.unit == "" && typ != TypeLoanElsewhere {
		// The core's nightly window: accepted now, issued when it returns.
		out, err = s.acceptPending(ctx, p, typ, purpose, lang)
		if err == nil {
			id = out.ID
		}
	}
	if err != nil {
		return Issued{}, s.audited(ctx, byHolder(p, ActionIssue, ""), err)
	}
	// The certificate exists and its row records who issued it when; an
	// audit record that cannot be queued is logged, not turned into an
	// error the client would retry into a second certificate.
	if err := s.audited(ctx, byHolder(p, ActionIssue, id), nil); err != nil {
		s.Logger.ErrorContext(ctx, "audit record lost", "action", ActionIssue, "request_id", services.RequestID(ctx), "err", err)
	}
	return out, nil
}

// checkIssue validates the request's fields, all at once, and returns the
// purpose as it is kept and printed (usertext.Clean): text that cannot be
// a purpose, or that the certificate's fonts cannot print, is refused here,
// before anything is written. allowed are the types the caller may issue;
// toCentre must be a centre code's shape on a loan_elsewhere certificate
// and empty on any other (whether the platform knows it is asked later).
func checkIssue(allowed []string, typ, purpose, lang string, unprintable func(string) []rune, toCentre string) (string, error) {
	var fields []services.FieldError
	if !slices.Contains(allowed, typ) {
		code := services.FieldOneOf
		if typ == "" {
			code = services.FieldRequired
		}
		fields = append(fields, services.FieldError{Field: "type", Code: code, Params: map[string]any{"allowed": strings.Join(allowed, ", ")}})
	}
	switch {
	case typ == TypeLoanElsewhere && toCentre == "":
		fields = append(fields, services.FieldError{Field: "to_centre", Code: services.FieldRequired})
	case typ == TypeLoanElsewhere && !platformCentreShape.MatchString(toCentre):
		fields = append(fields, services.FieldError{Field: "to_centre", Code: services.FieldFormat, Params: map[string]any{"format": "6 digits"}})
	case typ != TypeLoanElsewhere && toCentre != "":
		fields = append(fields, services.FieldError{Field: "to_centre", Code: services.FieldOneOf, Params: map[string]any{"allowed": ""}})
	}
	purpose = usertext.Clean(purpose)
	if fe := usertext.Check("purpose", purpose, maxPurpose, unprintable); fe != nil {
		fields = append(fields, *fe)
	}
	if lang != LangZhCN && lang != LangEn {
		fields = append(fields, services.FieldError{Field: "lang", Code: services.FieldOneOf, Params: map[string]any{"allowed": LangZhCN + ", " + LangEn}})
	}
	if len(fields) > 0 {
		return "", services.Invalid(fields...)
	}
	return purpose, nil
}

// draft reads the core's facts for the certificate sc may issue and
// returns how to build its Document once the number, code and times are
// known. Facts are never taken stale.
func (s *Service) draft(ctx context.Context, p services.Principal, sc scope, typ string, to lending) (func(typ, purpose, number, code string, issuedAt, expiresAt time.Time) Document, error) {
	if sc.unit != "" {
		facts, fresh, err := s.Units.UnitCertificateFacts(ctx, sc.unit)
		switch {
		case err != nil:
			return nil, err
		case fresh.Stale:
			return nil, services.Errorf(services.CodeCoreUnavailable, "certificate: unit facts are stale")
		case facts.Unit.UnitCode != sc.unit:
			// The core answered for another unit: state nothing rather
			// than someone else's figures.
			return nil, services.Errorf(services.CodeInternal, "certificate: the core answered for another unit")
		}
		return func(typ, purpose, number, code string, issuedAt, expiresAt time.Time) Document {
			return s.unitDocument(facts, typ, purpose, number, code, issuedAt, expiresAt)
		}, nil
	}
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return nil, err
	}
	facts, fresh, err := s.Facts.CertificateFacts(ctx, personID)
	switch {
	case err != nil:
		return nil, err
	case fresh.Stale:
		return nil, services.Errorf(services.CodeCoreUnavailable, "certificate: facts are stale")
	case !facts.Person.HasAccount || facts.Account.AccountNumber == "":
		return nil, services.Errorf(services.CodeAccountNotFound, "certificate: person has no account")
	case typ == TypeLoanSettled && (!facts.Loan.HasLoan || !facts.Loan.Settled):
		// Only a loan repaid in full is certified settled.
		return nil, services.Errorf(services.CodeLoanNotSettled, "certificate: no settled loan")
	}
	return func(typ, purpose, number, code string, issuedAt, expiresAt time.Time) Document {
		d := s.document(facts, typ, purpose, number, code, issuedAt, expiresAt)
		d.ToCentre, d.ToCentreName = to.code, to.name
		return d
	}, nil
}

// holderOf is who a document speaks for, as the claims and verify pages
// name them (masked at the public level), and the identifier the claims
// carry keyed-hashed: a person's name and ID number, or a unit's name and
// unified social credit code.
func (s *Service) holderOf(d Document) (masked, ident string) {
	if d.Unit != nil {
		return s.Mask.Apply(mask.UnitName, publicChannel, d.Unit.Name), d.Unit.Code
	}
	return s.Mask.Apply(mask.Name, publicChannel, d.HolderName), d.IDNumber
}

func (s *Service) issue(ctx context.Context, p services.Principal, sc scope, typ, purpose, lang string, to lending) (Issued, string, error) {
	build, err := s.draft(ctx, p, sc, typ, to)
	if err != nil {
		return Issued{}, "", err
	}
	// Whole seconds: the JWS carries NumericDates, and the stored times
	// must say exactly what the signature says.
	issuedAt := store.Timestamp(s.Now()).Truncate(time.Second)
	expiresAt := issuedAt.Add(s.Validity)
	id, err := newID(s.Rand)
	if err != nil {
		return Issued{}, "", services.AsError(err)
	}
	code, err := newVerifyCode(s.Rand)
	if err != nil {
		return Issued{}, "", services.AsError(err)
	}
	number, err := s.nextNumber(ctx, issuedAt)
	if err != nil {
		return Issued{}, "", err
	}
	doc := build(typ, purpose, number, FormatCode(code), issuedAt, expiresAt)
	unsigned, err := s.Renderer.Render(doc, lang, VariantStandard)
	if err != nil {
		return Issued{}, "", services.Errorf(services.CodeInternal, "certificate: render: %w", err)
	}
	holder, ident := s.holderOf(doc)
	claims := Claims{Issuer: s.CentreCode, Number: number, Type: typ, Holder: holder,
		IDHash: s.idHash(ident), Unit: unitSummary(doc), IssuedAt: issuedAt, ExpiresAt: expiresAt,
		PDFSHA256: sha256Hex(unsigned), ToCentre: to.code}
	if claims.Unit == nil {
		claims.Facts = summary(doc)
	}
	jws, payload, err := s.sign(claims)
	if err != nil {
		return Issued{}, "", services.AsError(err)
	}
	doc.Signature = jws
	pdf, err := s.Renderer.Render(doc, lang, VariantStandard)
	if err != nil {
		return Issued{}, "", services.Errorf(services.CodeInternal, "certificate: render signed: %w", err)
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return Issued{}, "", services.Errorf(services.CodeInternal, "certificate: document: %w", err)
	}
	r := record{ID: id, Subject: p.Subject, UnitCode: sc.unit, Number: number, VerifyCode: code, Type: typ, Purpose: purpose, Lang: lang,
		Holder: holder, Claims: string(payload), JWS: jws, PDFSHA256: sha256Hex(pdf), IssuedAt: issuedAt, ExpiresAt: expiresAt,
		ToCentre: to.code, ToCentreName: to.name}
	err = s.Store.Tx(ctx, func(tx *store.Tx) error { return insert(ctx, tx, r, docJSON, pdf) })
	if err != nil {
		return Issued{}, "", services.Errorf(services.CodeInternal, "certificate: store: %w", err)
	}
	return Issued{ID: id, Number: number, Type: typ, VerifyCode: FormatCode(code), VerifyURL: doc.VerifyURL,
		DownloadURL: s.downloadURL(id), IssuedAt: issuedAt, ExpiresAt: expiresAt}, id, nil
}
