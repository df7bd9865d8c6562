package certificate

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"handheld/services"
	"handheld/services/store/storetest"
)

// fakeCentres lists Beijing and this centre; down makes it the platform
// unreachable.
type fakeCentres struct{ down bool }

func (f fakeCentres) CentreName(_ context.Context, code string) (string, bool, error) {
	if f.down {
		return "", false, services.E(services.CodePlatformUnavailable)
	}
	if code == "110100" {
		return "北京住房公积金管理中心", true, nil
	}
	return "", false, nil // unknown, or 330100 (this centre)
}

// TestLoanElsewhere: a loan_elsewhere certificate names its lending centre
// (document, signed claims, holder's view, verify answer); a missing,
// malformed, unknown or own centre, or one on another type, is a field
// error on to_centre with nothing rendered or stored; the platform away is
// platform.unavailable, never a pending request. A verification through
// the platform is recorded with the verifying centre, seen by the holder.
func TestLoanElsewhere(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	r.Centres = fakeCentres{}
	ctx := t.Context()
	zhang := depositor("s_zhang")
	for _, q := range []Request{
		{Type: TypeLoanElsewhere},
		{Type: TypeLoanElsewhere, ToCentre: "1101"},
		{Type: TypeLoanElsewhere, ToCentre: "999999"},
		{Type: TypeLoanElsewhere, ToCentre: "330100"},
		{Type: TypeDepositUse, ToCentre: "110100"},
	} {
		q.Lang = LangZhCN
		_, err := r.IssueFor(ctx, zhang, q)
		if e := services.AsError(err); e.Code != services.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "to_centre" {
			t.Errorf("%+v: %v %+v, want an error on to_centre", q, err, e.Fields)
		}
	}
	r.Centres = fakeCentres{down: true}
	if _, err := r.IssueFor(ctx, zhang, Request{Type: TypeLoanElsewhere, ToCentre: "110100", Lang: LangEn}); services.ErrorCode(err) != services.CodePlatformUnavailable {
		t.Errorf("platform down: %v", err)
	}
	if n := r.renderer.calls.Load(); n != 0 {
		t.Errorf("refused requests were rendered %d times", n)
	}
	if page, err := r.List(ctx, zhang, 10, ""); err != nil || len(page.Items) != 0 {
		t.Fatalf("refused requests left certificates or requests: %+v, %v", page.Items, err)
	}

	r.Centres = fakeCentres{}
	got, err := r.IssueFor(ctx, zhang, Request{Type: TypeLoanElsewhere, ToCentre: "110100", Lang: LangZhCN})
	if err != nil || got.Type != TypeLoanElsewhere {
		t.Fatalf("issue: %+v %v", got, err)
	}
	view, err := r.Get(ctx, zhang, got.ID)
	if err != nil || view.ToCentre != "110100" || view.ToCentreName != "北京住房公积金管理中心" {
		t.Fatalf("view: %+v %v", view, err)
	}
	id, _ := linkOf(t, got.DownloadURL)
	rec, _, doc, err := r.file(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var d Document
	if err := json.Unmarshal(doc, &d); err != nil || d.ToCentre != "110100" || d.ToCentreName != "北京住房公积金管理中心" ||
		d.Loan.OutstandingFen != 76_000_000 || d.Continuous != 60 {
		t.Errorf("document: %+v %v", d, err)
	}
	claims, err := VerifyJWS(r.ring, rec.JWS)
	if err != nil || claims.ToCentre != "110100" || claims.Type != TypeLoanElsewhere {
		t.Fatalf("claims: %+v %v", claims, err)
	}

	// Verified through the platform by Beijing; refusals record nothing.
	if _, err := r.VerifyThroughPlatform(ctx, got.VerifyCode, "999999"); services.ErrorCode(err) != services.CodeInvalid {
		t.Errorf("unknown verifying centre: %v", err)
	}
	if _, err := r.VerifyThroughPlatform(ctx, "0000-0000-0000-0000", "110100"); services.ErrorCode(err) != services.CodeNotFound {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := r.VerifyThroughPlatform(ctx, "not a code", "110100"); services.ErrorCode(err) != services.CodeCertificateBadCode {
		t.Errorf("malformed code: %v", err)
	}
	v, err := r.VerifyThroughPlatform(ctx, got.VerifyCode, "110100")
	if err != nil || !v.Valid || v.ToCentre != "110100" || v.Holder != "张*" {
		t.Fatalf("platform verification: %+v %v", v, err)
	}
	if _, err := r.Verify(ctx, got.VerifyCode, ChannelWeb); err != nil {
		t.Fatal(err)
	}
	view, err = r.Get(ctx, zhang, got.ID)
	if err != nil || view.Usage != 2 || len(view.Verifications) != 2 {
		t.Fatalf("verifications: %+v %v", view, err)
	}
	byChannel := map[string]Verification{}
	for _, x := range view.Verifications {
		byChannel[x.Channel] = x
	}
	if p := byChannel[ChannelPlatform]; p.Centre != "110100" || p.CentreName != "北京住房公积金管理中心" {
		t.Errorf("platform verification: %+v", p)
	}
	if w := byChannel[ChannelWeb]; w.Centre != "" || w.CentreName != "" {
		t.Errorf("web verification names a centre: %+v", w)
	}
	if !slices.ContainsFunc(r.audit.actions(), func(a string) bool { return strings.HasPrefix(a, ActionVerifyPlatform+" certificate:"+got.ID) }) {
		t.Errorf("platform verification not audited: %v", r.audit.actions())
	}
}
