package certificate

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

func TestOwnCertificatesOnlyAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		mine, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Issue(ctx, depositor("s_wang"), TypeDepositUse, "", LangZhCN); err != nil {
			t.Fatal(err)
		}
		// Another person's id, or an id of any other shape, is not found.
		for _, id := range []string{mine.ID, strings.Repeat("ab", 16), "x"} {
			if _, err := r.Get(ctx, depositor("s_wang"), id); services.ErrorCode(err) != services.CodeNotFound {
				t.Errorf("Get(%s) by another: %v", id, err)
			}
			if _, err := r.Revoke(ctx, depositor("s_wang"), id); services.ErrorCode(err) != services.CodeNotFound {
				t.Errorf("Revoke(%s) by another: %v", id, err)
			}
		}
		page, err := r.List(ctx, depositor("s_wang"), 10, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].ID == mine.ID {
			t.Fatalf("s_wang's list: %+v, %v", page, err)
		}

		r.clock.Advance(time.Minute)
		v, err := r.Revoke(ctx, depositor("s_zhang"), mine.ID)
		if err != nil || v.Status != StatusRevoked || !v.RevokedAt.Equal(store.Timestamp(r.clock.Now())) || v.DownloadURL != "" {
			t.Fatalf("revoke: %+v, %v", v, err)
		}
		r.clock.Advance(time.Minute)
		again, err := r.Revoke(ctx, depositor("s_zhang"), mine.ID)
		if err != nil || !again.RevokedAt.Equal(v.RevokedAt) {
			t.Fatalf("revoking again: %+v, %v", again, err)
		}
		id, tok := linkOf(t, mine.DownloadURL)
		if _, err := r.PDF(ctx, id, tok, ""); services.ErrorCode(err) != services.CodeNotFound {
			t.Fatalf("a revoked certificate's PDF: %v", err)
		}
	})
}

func TestVerifyStatusesAndUsage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		got, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		typed := strings.ToLower(strings.ReplaceAll(got.VerifyCode, "-", " "))
		v, err := r.Verify(ctx, typed, ChannelWeb)
		if err != nil {
			t.Fatal(err)
		}
		want := VerifyView{Valid: true, Status: StatusValid, Number: got.Number, Type: TypeDepositUse, Holder: "张*",
			IssuedAt: got.IssuedAt, ExpiresAt: got.ExpiresAt, Centre: "示范市住房公积金管理中心"}
		want.PDFSHA256 = v.PDFSHA256
		if v != want || len(v.PDFSHA256) != 64 {
			t.Fatalf("verify\n got %+v\nwant %+v", v, want)
		}
		r.clock.Advance(time.Second)
		if _, err := r.Verify(ctx, got.VerifyCode, ChannelAPI); err != nil {
			t.Fatal(err)
		}
		view, err := r.Get(ctx, depositor("s_zhang"), got.ID)
		if err != nil || view.Usage != 2 || len(view.Verifications) != 2 {
			t.Fatalf("usage %+v, %v", view, err)
		}
		if first := view.Verifications[0]; first.Channel != ChannelAPI || !first.At.Equal(store.Timestamp(r.clock.Now())) {
			t.Fatalf("latest verification first: %+v", view.Verifications)
		}
		page, _ := r.List(ctx, depositor("s_zhang"), 10, "")
		if page.Items[0].Usage != 2 || page.Items[0].Verifications != nil {
			t.Fatalf("list usage %+v", page.Items[0])
		}

		// Unknown codes are an answer, malformed ones an error.
		if v, err := r.Verify(ctx, "0000-0000-0000-0000", ChannelAPI); err != nil || v.Status != StatusNotFound || v.Valid || v.Holder != "" {
			t.Fatalf("unknown code: %+v, %v", v, err)
		}
		if _, err := r.Verify(ctx, "7KQ2-M9XD", ChannelAPI); services.ErrorCode(err) != services.CodeCertificateBadCode {
			t.Fatalf("malformed code: %v", err)
		}

		r.clock.Advance(DefaultValidity)
		if v, _ := r.Verify(ctx, got.VerifyCode, ChannelAPI); v.Status != StatusExpired || v.Valid {
			t.Fatalf("after validity: %+v", v)
		}
		if _, err := r.Revoke(ctx, depositor("s_zhang"), got.ID); err != nil {
			t.Fatal(err)
		}
		if v, _ := r.Verify(ctx, got.VerifyCode, ChannelWeb); v.Status != StatusRevoked || v.Valid || v.Holder != "张*" {
			t.Fatalf("revoked: %+v", v)
		}
		if view, _ := r.Get(ctx, depositor("s_zhang"), got.ID); view.Usage != 4 {
			t.Fatalf("usage after four verifications: %d", view.Usage)
		}
	})
}

func TestListPaging(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := t.Context()
	var ids []string
	for range 5 {
		got, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{got.ID}, ids...) // newest first
		if len(ids)%2 == 0 {
			r.clock.Advance(time.Second) // some share an issue time
		}
	}
	var seen []string
	cursor := ""
	for range 4 {
		page, err := r.List(ctx, depositor("s_zhang"), 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Items {
			seen = append(seen, v.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if diff := cmp.Diff(ids, seen); diff != "" {
		t.Fatalf("pages are not newest first (-want +got):\n%s", diff)
	}
	for _, bad := range []struct {
		limit  int
		cursor string
	}{{0, ""}, {101, ""}, {10, "!!"}, {10, "bm90LWEtY3Vyc29y"}} {
		if _, err := r.List(ctx, depositor("s_zhang"), bad.limit, bad.cursor); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("List(%d, %q): %v", bad.limit, bad.cursor, err)
		}
	}
}

func TestReadsWithheldWithoutAudit(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := t.Context()
	got, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN)
	if err != nil {
		t.Fatal(err)
	}
	r.audit.setFail(true)
	id, tok := linkOf(t, got.DownloadURL)
	if _, err := r.Get(ctx, depositor("s_zhang"), got.ID); services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("Get: %v", err)
	}
	if _, err := r.PDF(ctx, id, tok, ""); services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("PDF: %v", err)
	}
	if _, err := r.Verify(ctx, got.VerifyCode, ChannelWeb); services.ErrorCode(err) != services.CodeInternal {
		t.Errorf("Verify: %v", err)
	}
	// An issue is answered: the certificate exists and its row says so.
	if _, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "", LangZhCN); err != nil {
		t.Errorf("Issue without audit: %v", err)
	}
}
