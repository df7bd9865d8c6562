package certificate

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// The demo units: shop01's noodle shop, paid up, and yunqi01's firm with
// its last two complete months unpaid.
const (
	shopCode  = "92330106L8XQ2M4N0N"
	yunqiCode = "91330108MA7YQ3R294"
)

func demoUnits() map[string]core.UnitCertificateFacts {
	months := func(overdue int, headcount int, total int64) []core.RemittanceMonth {
		var out []core.RemittanceMonth
		for i := range 12 {
			m := core.RemittanceMonth{Month: (month(2026*12+1) - month(i)).String(), Status: core.BillPaid, Headcount: headcount, TotalFen: total}
			if i < overdue {
				m.Status = core.BillOverdue
			}
			out = append(out, m)
		}
		return out
	}
	return map[string]core.UnitCertificateFacts{
		shopCode: {Unit: core.UnitAccount{UnitCode: shopCode, Name: "杭州西溪阿芳面馆", AccountNumber: "330100300011", Status: "01",
			OpenedMonth: "2025-03", StaffCount: 3, ActiveCount: 3, UnitRateBP: 500, PersonalRateBP: 500,
			MonthlyFen: 72_300, PaidUpTo: "2026-02"}, Months: months(0, 3, 72_300), AsOf: start},
		yunqiCode: {Unit: core.UnitAccount{UnitCode: yunqiCode, Name: "杭州云栖数据科技有限公司", AccountNumber: "330100300027", Status: "01",
			OpenedMonth: "2025-03", StaffCount: 50, ActiveCount: 49, SealedCount: 1, UnitRateBP: 1000, PersonalRateBP: 1000,
			MonthlyFen: 2_940_000, PaidUpTo: "2025-12", ArrearsMonths: 2, ArrearsFen: 5_880_000},
			Months: months(2, 49, 2_940_000), AsOf: start},
	}
}

// operator is one of unit's operators.
func operator(subject, unit string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleEmployer, Channel: services.ChannelApp, Session: "sess", Unit: unit}
}

// served reads the document back out of the fake renderer's "PDF".
func served(t *testing.T, r *rig, download string) Document {
	t.Helper()
	id, tok := linkOf(t, download)
	pdf, err := r.PDF(t.Context(), id, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	var doc Document
	if err := json.Unmarshal(pdf[bytes.IndexByte(pdf, '{'):bytes.LastIndexByte(pdf, '}')+1], &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestUnitCertificateStatesTheUnit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		got, err := r.Issue(ctx, operator("op_a", shopCode), TypeUnitDeposit, "招投标", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != TypeUnitDeposit || got.Number != "330100-2026-000001" {
			t.Fatalf("issued %+v", got)
		}
		doc := served(t, r, got.DownloadURL)
		u := doc.Unit
		if u == nil || doc.HolderName != "" || doc.IDNumber != "" {
			t.Fatalf("a unit's document names no person: %+v", doc)
		}
		if u.Name != "杭州西溪阿芳面馆" || u.Code != shopCode || u.AccountNo != "330100300011" || u.Status != "01" ||
			u.OpenedMonth != "2025-03" || u.ActiveCount != 3 || u.MonthlyFen != 72_300 || u.PaidUpTo != "2026-02" || u.InArrears() {
			t.Fatalf("unit facts %+v", u)
		}
		if len(u.Months) != 12 || u.PeriodTo != "2026-02" || u.PeriodFrom != "2025-03" || u.Months[0].Month != "2026-02" {
			t.Fatalf("period %s–%s, %d months", u.PeriodFrom, u.PeriodTo, len(u.Months))
		}
		claims, err := VerifyJWS(r.ring, doc.Signature)
		if err != nil {
			t.Fatal(err)
		}
		if claims.Type != TypeUnitDeposit || claims.Holder != "杭州****面馆" || claims.IDHash != r.idHash(shopCode) ||
			claims.Unit == nil || *claims.Unit != (UnitSummary{Status: "01", StaffDeposited: 3, MonthlyFen: 72_300, PaidUpTo: "2026-02"}) {
			t.Fatalf("claims %+v unit %+v", claims, claims.Unit)
		}
		// The signed payload has the unit's gist and no person's facts.
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(doc.Signature, ".")[1])
		if bytes.Contains(payload, []byte(`"facts"`)) || !bytes.Contains(payload, []byte(`"unit":{`)) {
			t.Fatalf("payload %s", payload)
		}
		want := []string{"certificate.issue certificate:" + got.ID + " ok", "certificate.download certificate:" + got.ID + " ok"}
		if a := r.audit.actions(); strings.Join(a, "|") != strings.Join(want, "|") {
			t.Fatalf("audit %q", a)
		}
	})
}

// A unit in arrears gets its certificate, stating the arrears: months
// owed, the amount, and which months in the table.
func TestUnitInArrearsStatesIt(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	got, err := r.Issue(t.Context(), operator("op_y", yunqiCode), TypeUnitDeposit, "", LangEn)
	if err != nil {
		t.Fatal(err)
	}
	u := served(t, r, got.DownloadURL).Unit
	if !u.InArrears() || u.ArrearsMonths != 2 || u.ArrearsFen != 5_880_000 || u.PaidUpTo != "2025-12" ||
		u.Months[0].Status != core.BillOverdue || u.Months[1].Status != core.BillOverdue || u.Months[2].Status != core.BillPaid {
		t.Fatalf("arrears not stated: %+v", u)
	}
	v, err := r.Get(t.Context(), operator("op_y2", yunqiCode), got.ID)
	if err != nil || v.Unit == nil || !v.Unit.InArrears || v.Unit.ArrearsMonths != 2 || v.Facts != (FactsSummary{}) {
		t.Fatalf("view %+v %+v, %v", v, v.Unit, err)
	}
}

// Every operator of a unit reaches its certificates and nobody else does:
// another unit's operator, the depositor, a token without a unit.
func TestUnitCertificatesAreTheUnits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		shop, err := r.Issue(ctx, operator("op_a", shopCode), TypeUnitDeposit, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		colleague := operator("op_b", shopCode)
		if v, err := r.Get(ctx, colleague, shop.ID); err != nil || v.Type != TypeUnitDeposit || v.Status != StatusValid {
			t.Fatalf("a colleague's read: %+v, %v", v, err)
		}
		other := operator("op_y", yunqiCode)
		for name, err := range map[string]error{
			"another unit's get":          second(r.Get(ctx, other, shop.ID)),
			"another unit's revoke":       second(r.Revoke(ctx, other, shop.ID)),
			"a person's id":               second(r.Get(ctx, colleague, mine.ID)),
			"a unit's id to a person":     second(r.Get(ctx, depositor("s_zhang"), shop.ID)),
			"a unit's revoke by a person": second(r.Revoke(ctx, depositor("s_zhang"), shop.ID)),
		} {
			if services.ErrorCode(err) != services.CodeNotFound {
				t.Errorf("%s: %v, want not_found", name, err)
			}
		}
		page, err := r.List(ctx, other, 10, "")
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("another unit lists %+v, %v", page.Items, err)
		}
		if page, err = r.List(ctx, depositor("s_zhang"), 10, ""); err != nil || len(page.Items) != 1 || page.Items[0].ID != mine.ID {
			t.Fatalf("the person lists %+v, %v", page.Items, err)
		}
		if page, err = r.List(ctx, colleague, 10, ""); err != nil || len(page.Items) != 1 || page.Items[0].ID != shop.ID {
			t.Fatalf("the unit lists %+v, %v", page.Items, err)
		}
		// Each may issue only its own type.
		if _, err := r.Issue(ctx, colleague, TypeDepositUse, "", LangZhCN); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("an operator issuing a person's certificate: %v", err)
		}
		if _, err := r.Issue(ctx, depositor("s_zhang"), TypeUnitDeposit, "", LangZhCN); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("a person issuing a unit's certificate: %v", err)
		}
		noUnit := operator("op_c", "")
		if _, err := r.List(ctx, noUnit, 10, ""); services.ErrorCode(err) != services.CodeForbidden {
			t.Errorf("an operator token without a unit: %v", err)
		}
		// The colleague revokes what another operator issued.
		v, err := r.Revoke(ctx, colleague, shop.ID)
		if err != nil || v.Status != StatusRevoked || v.DownloadURL != "" {
			t.Fatalf("revoke: %+v, %v", v, err)
		}
		if v, err := r.Get(ctx, depositor("s_zhang"), mine.ID); err != nil || v.Status != StatusValid {
			t.Fatalf("the person's certificate after the unit's revoke: %+v, %v", v, err)
		}
	})
}

func second[T any](_ T, err error) error { return err }

// Stale or mismatched facts issue nothing; a unit the core does not know
// is unit.not_found.
func TestUnitFactsMustHold(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := t.Context()
	r.units.stale = true
	if _, err := r.Issue(ctx, operator("op_a", shopCode), TypeUnitDeposit, "", LangZhCN); services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Errorf("stale facts: %v", err)
	}
	r.units.stale = false
	f := r.units.facts[shopCode]
	f.Unit.UnitCode = yunqiCode
	r.units.facts[shopCode] = f
	if _, err := r.Issue(ctx, operator("op_a", shopCode), TypeUnitDeposit, "", LangZhCN); services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("facts of another unit: %v", err)
	}
	if _, err := r.Issue(ctx, operator("op_a", "91330100MA0000000X"), TypeUnitDeposit, "", LangZhCN); services.ErrorCode(err) != services.CodeUnitNotFound {
		t.Errorf("unknown unit: %v", err)
	}
	if page, err := r.List(ctx, operator("op_a", shopCode), 10, ""); err != nil || len(page.Items) != 0 {
		t.Fatalf("nothing stored: %+v, %v", page.Items, err)
	}
}

// Verifying a unit's certificate tells its type, the unit's masked name
// and code and its status, and nothing of a person; revoked is revoked.
func TestVerifyUnitCertificate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		got, err := r.Issue(ctx, operator("op_a", shopCode), TypeUnitDeposit, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		v, err := r.Verify(ctx, got.VerifyCode, ChannelAPI)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Valid || v.Status != StatusValid || v.Type != TypeUnitDeposit || v.Holder != "杭州****面馆" || v.UnitCode != "9233**********4N0N" {
			t.Fatalf("verify %+v", v)
		}
		if _, err := r.Revoke(ctx, operator("op_b", shopCode), got.ID); err != nil {
			t.Fatal(err)
		}
		v, err = r.Verify(ctx, got.VerifyCode, ChannelWeb)
		if err != nil || v.Valid || v.Status != StatusRevoked || v.Type != TypeUnitDeposit {
			t.Fatalf("revoked: %+v, %v", v, err)
		}
		id, tok := linkOf(t, got.DownloadURL)
		if _, err := r.PDF(ctx, id, tok, ""); services.ErrorCode(err) != services.CodeNotFound {
			t.Fatalf("a revoked unit certificate's PDF: %v", err)
		}
		view, err := r.Get(ctx, operator("op_a", shopCode), got.ID)
		if err != nil || view.Usage != 2 {
			t.Fatalf("usage %+v, %v", view, err)
		}
		// A person's verification has no unit code.
		mine, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := r.Verify(ctx, mine.VerifyCode, ChannelAPI); err != nil || v.UnitCode != "" || v.Holder != "张*" {
			t.Fatalf("a person's verify %+v, %v", v, err)
		}
	})
}

// A person's stored document and signed claims are as they were before
// units: no Unit key in the document, facts in the claims, no unit claim.
func TestPersonalCertificateUnchanged(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	got, err := r.Issue(t.Context(), depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
	if err != nil {
		t.Fatal(err)
	}
	doc := served(t, r, got.DownloadURL)
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(`"Unit"`)) {
		t.Fatalf("a person's document carries a Unit key: %s", raw)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(doc.Signature, ".")[1])
	want := `"facts":{"status":"01","balance_fen":12345600,"continuous_months":60,"has_loan":true},"pdf_sha256":`
	if !bytes.Contains(payload, []byte(want)) || bytes.Contains(payload, []byte(`"unit"`)) {
		t.Fatalf("payload %s", payload)
	}
}
