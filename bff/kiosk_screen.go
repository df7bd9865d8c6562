package bff

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"handheld/bff/kiosk/screen"
	"handheld/services"
	"handheld/services/idempotency"
	"handheld/services/identity"
	"handheld/services/printing"
)

// screenPrints is services/printing as the kiosk screen asks for it. A
// print request from the screen is made safe to send twice here, with the
// same idempotency table the API's Idempotency-Key uses: the second press
// of the button finds the first job.
type screenPrints struct {
	service *printing.Service
	keys    *idempotency.Keys
}

// CreatePrint queues one document at the citizen's kiosk, once per key.
func (a screenPrints) CreatePrint(ctx context.Context, p services.Principal, r screen.PrintRequest) (screen.PrintJob, error) {
	sum := sha256.Sum256([]byte(r.Document + "\x00" + r.From + "\x00" + r.To + "\x00" + r.CertificateID))
	claim, done, err := a.keys.Claim(ctx, "kiosk-screen print "+p.Subject, r.IdempotencyKey, hex.EncodeToString(sum[:]))
	if err != nil {
		return screen.PrintJob{}, err
	}
	if done != nil { // the same form again: its job
		return a.GetPrint(ctx, p, string(done.Body))
	}
	j, err := a.service.Create(ctx, p, printing.Request{Document: r.Document, From: r.From, To: r.To,
		CertificateID: r.CertificateID, Locale: r.Locale, IdempotencyKey: r.IdempotencyKey})
	if err != nil {
		a.keys.Release(ctx, claim)
		return screen.PrintJob{}, err
	}
	_ = a.keys.Finish(ctx, claim, idempotency.Response{Status: http.StatusCreated, ContentType: "text/plain", Body: []byte(j.ID)})
	return printJob(j), nil
}

// GetPrint is one of the citizen's own jobs.
func (a screenPrints) GetPrint(ctx context.Context, p services.Principal, id string) (screen.PrintJob, error) {
	j, err := a.service.Get(ctx, p, id)
	if err != nil {
		return screen.PrintJob{}, err
	}
	return printJob(j), nil
}

func printJob(j printing.Job) screen.PrintJob {
	return screen.PrintJob{ID: j.ID, Document: j.Document, Status: j.Status, Pages: j.Pages, Location: j.Location,
		CreatedAt: j.CreatedAt, PrintedAt: j.PrintedAt}
}

// screenPhone is identity's phone-QR sign-in as the kiosk screen asks for
// it.
type screenPhone struct {
	identity *identity.Service
	// base is the public address the QR's URL starts with (the identity
	// service's PublicBaseURL), so that every replica draws the same QR.
	base string
}

// StartPhoneSignIn makes a one-time code for the device.
func (a screenPhone) StartPhoneSignIn(ctx context.Context, device services.Principal) (screen.PhoneCode, error) {
	c, err := a.identity.CreateLoginCode(ctx, device)
	if err != nil {
		return screen.PhoneCode{}, err
	}
	return screen.PhoneCode{Code: c.Code, URL: c.URL, ExpiresIn: c.ExpiresIn}, nil
}

// PollPhoneSignIn asks after the device's code; confirmed, it hands over
// the citizen's access token, once.
func (a screenPhone) PollPhoneSignIn(ctx context.Context, device services.Principal, code string) (screen.PhoneState, error) {
	st, err := a.identity.PollLoginCode(ctx, device, code)
	if err != nil {
		return screen.PhoneState{}, err
	}
	out := screen.PhoneState{ExpiresIn: st.ExpiresIn}
	if st.Status == identity.LoginCodeConfirmed && st.Tokens != nil {
		out.Confirmed, out.AccessToken, out.TokenTTL = true, st.Tokens.AccessToken, st.Tokens.ExpiresIn
	}
	return out, nil
}

// PhoneURL is what the QR shows for code: the URL CreateLoginCode gave
// (<public base>/kiosk-login?code=<code>), drawn again on each poll.
func (a screenPhone) PhoneURL(code string) string {
	return identity.KioskLoginURL(a.base, code)
}
