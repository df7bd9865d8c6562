package certificate

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// linkOf splits a download URL into id and t.
func linkOf(t *testing.T, download string) (id, tok string) {
	t.Helper()
	u, err := url.Parse(download)
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSuffix(strings.TrimPrefix(u.Path, DownloadPath), "/pdf")
	return id, u.Query().Get("t")
}

func TestIssueSignsStoresAndServes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		got, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "  异地购房贷款 ", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		if got.Number != "330100-2026-000001" || !groupedCode.MatchString(got.VerifyCode) || got.Type != TypeDepositUse {
			t.Fatalf("issued %+v", got)
		}
		if !got.IssuedAt.Equal(start.Truncate(time.Second)) || !got.ExpiresAt.Equal(got.IssuedAt.Add(DefaultValidity)) {
			t.Fatalf("times %v %v", got.IssuedAt, got.ExpiresAt)
		}
		if got.VerifyURL != "https://hpf.example.cn/verify/"+got.VerifyCode {
			t.Fatalf("verify URL %s", got.VerifyURL)
		}
		second, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangEn)
		if err != nil || second.Number != "330100-2026-000002" || second.VerifyCode == got.VerifyCode || second.ID == got.ID {
			t.Fatalf("second issue %+v, %v", second, err)
		}

		id, tok := linkOf(t, got.DownloadURL)
		if id != got.ID {
			t.Fatalf("link for %s, issued %s", id, got.ID)
		}
		pdf, err := r.PDF(ctx, id, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		view, err := r.Get(ctx, depositor("s_zhang"), id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || sha256Hex(pdf) != view.PDFSHA256 {
			t.Fatalf("served PDF hash %s, view says %s", sha256Hex(pdf), view.PDFSHA256)
		}

		// The served PDF is the document with its signature; the signature
		// covers the same document rendered without it.
		var doc Document
		body := pdf[bytes.IndexByte(pdf, '{') : bytes.LastIndexByte(pdf, '}')+1]
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.HolderName != "张伟" || doc.Purpose != "异地购房贷款" || doc.VerifyCode != got.VerifyCode || doc.Signature == "" {
			t.Fatalf("document %+v", doc)
		}
		claims, err := VerifyJWS(r.ring, doc.Signature)
		if err != nil {
			t.Fatal(err)
		}
		unsignedDoc := doc
		unsignedDoc.Signature = ""
		unsigned, _ := r.renderer.Render(unsignedDoc, LangZhCN, VariantStandard)
		want := Claims{Issuer: "330100", Number: got.Number, Type: TypeDepositUse, Holder: "张*", IDHash: r.idHash("33010619850312413X"),
			Facts:    FactsSummary{Status: "01", BalanceFen: 12_345_600, ContinuousMonths: 60, HasLoan: true},
			IssuedAt: got.IssuedAt, ExpiresAt: got.ExpiresAt, PDFSHA256: sha256Hex(unsigned)}
		claims.IssuedAt, claims.ExpiresAt = claims.IssuedAt.UTC(), claims.ExpiresAt.UTC()
		if claims != want {
			t.Fatalf("claims\n got %+v\nwant %+v", claims, want)
		}
		if len(claims.IDHash) != 64 || strings.Contains(doc.Signature, "33010619850312413") {
			t.Fatal("the ID number must only travel hashed in the signature")
		}

		// Another purpose's key, or another typ, does not pass.
		forged := []byte(doc.Signature)
		i := len(forged) - 10 // inside the signature, clear of its padding bits
		forged[i] = map[bool]byte{true: 'B', false: 'A'}[forged[i] == 'A']
		if _, err := VerifyJWS(r.ring, string(forged)); err == nil {
			t.Fatal("a forged signature verified")
		}

		// Print copies are rendered again, the same each time.
		p1, err := r.PDF(ctx, id, tok, VariantPrint)
		if err != nil {
			t.Fatal(err)
		}
		p2, _ := r.PDF(ctx, id, tok, VariantPrint)
		if !bytes.Equal(p1, p2) || bytes.Equal(p1, pdf) || !bytes.Contains(p1, []byte(" zh-CN print\n")) {
			t.Fatalf("print variant not deterministic or not print: %q", p1[:40])
		}
		if _, err := r.PDF(ctx, id, tok, "poster"); services.ErrorCode(err) != services.CodeInvalid {
			t.Fatalf("unknown variant: %v", err)
		}
		if _, err := r.PDF(ctx, second.ID, tok, ""); services.ErrorCode(err) != services.CodeCertificateLinkInvalid {
			t.Fatalf("a link for another certificate: %v", err)
		}
		r.clock.Advance(DefaultLinkTTL)
		if _, err := r.PDF(ctx, id, tok, ""); services.ErrorCode(err) != services.CodeCertificateLinkExpired {
			t.Fatalf("expired link: %v", err)
		}
		acts := strings.Join(r.audit.actions(), "\n")
		for _, want := range []string{ActionIssue + " certificate:" + id + " ok", ActionDownload + " certificate:" + id + " ok", ActionGet + " certificate:" + id + " ok"} {
			if !strings.Contains(acts, want) {
				t.Errorf("audit lacks %q:\n%s", want, acts)
			}
		}
	})
}

func TestIssueRefusals(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := t.Context()
	cases := []struct {
		name                 string
		subject, typ, purpse string
		lang                 string
		want                 services.Code
		field                string
	}{
		{"unknown type", "s_zhang", "income", "", LangZhCN, services.CodeInvalid, "type"},
		{"no type", "s_zhang", "", "", LangZhCN, services.CodeInvalid, "type"},
		{"purpose too long", "s_zhang", TypeDepositUse, strings.Repeat("贷", 101), LangZhCN, services.CodeInvalid, "purpose"},
		{"purpose with a control character", "s_zhang", TypeDepositUse, "a\x00b", LangZhCN, services.CodeInvalid, "purpose"},
		{"unknown language", "s_zhang", TypeDepositUse, "", "fr", services.CodeInvalid, "lang"},
		{"no account", "s_chen", TypeDepositUse, "", LangZhCN, services.CodeAccountNotFound, ""},
	}
	for _, tc := range cases {
		_, err := r.Issue(ctx, depositor(tc.subject), tc.typ, tc.purpse, tc.lang)
		e := services.AsError(err)
		if e.Code != tc.want || (tc.field != "" && (len(e.Fields) != 1 || e.Fields[0].Field != tc.field)) {
			t.Errorf("%s: %v %+v", tc.name, err, e.Fields)
		}
	}
	if _, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, strings.Repeat("贷", 100), LangZhCN); err != nil {
		t.Errorf("100 characters of purpose: %v", err)
	}
	employer := depositor("s_zhang")
	employer.Role = "employer"
	if _, err := r.Issue(ctx, employer, TypeDepositUse, "", LangZhCN); services.ErrorCode(err) != services.CodeForbidden {
		t.Errorf("employer: %v", err)
	}
	r.facts.stale = true
	// The core away (only a remembered answer): accepted as pending.
	if out, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN); err != nil || !out.Pending {
		t.Errorf("stale facts: %+v %v", out, err)
	}
	r.facts.stale, r.renderer.fail = false, errTest
	if _, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN); services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("renderer failure: %v", err)
	}
	page, err := r.List(ctx, depositor("s_zhang"), 10, "")
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("only the one good issue is stored: %+v, %v", page, err)
	}
}

var errTest = services.Errorf(services.CodeInternal, "test failure")

func TestSealedAccountStatesItsStatus(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	got, err := r.Issue(t.Context(), depositor("s_wang"), TypeDepositUse, "", LangZhCN)
	if err != nil {
		t.Fatal(err)
	}
	id, tok := linkOf(t, got.DownloadURL)
	pdf, err := r.PDF(t.Context(), id, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	var doc Document
	if err := json.Unmarshal(pdf[bytes.IndexByte(pdf, '{'):bytes.LastIndexByte(pdf, '}')+1], &doc); err != nil {
		t.Fatal(err)
	}
	if doc.StatusCode != "02" || len(doc.Gaps) != 7 || doc.Gaps[0] != "2026-02" || doc.Gaps[6] != "2025-08" {
		t.Fatalf("status %s gaps %v", doc.StatusCode, doc.Gaps)
	}
	claims, err := VerifyJWS(r.ring, doc.Signature)
	if err != nil || claims.Facts.Status != "02" || claims.Holder != "王*" {
		t.Fatalf("claims %+v, %v", claims, err)
	}
}
