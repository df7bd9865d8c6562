package share

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/keys/jwkstest"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// Attacks first: the wrong role, an unknown or disabled party, predicates
// unknown, repeated, of the wrong type or range, not allowed to the party,
// valid_until and max_uses out of the policy. Each is its 4xx code and
// stores nothing.
func TestCreateRefusesBadShares(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		day := r.clock().Add(24 * time.Hour)
		ok := []Predicate{{Name: BalanceAtLeast, Value: int64(100)}}
		tests := map[string]struct {
			p    services.Principal
			r    NewShare
			code services.Code
		}{
			"a party":           {bank, NewShare{Party: "demo-bank", Predicates: ok, ValidUntil: day, MaxUses: 1}, services.CodeForbidden},
			"unknown party":     {ana, NewShare{Party: "nobody", Predicates: ok, ValidUntil: day, MaxUses: 1}, services.CodeSharePartyUnknown},
			"disabled party":    {ana, NewShare{Party: "gone-co", Predicates: ok, ValidUntil: day, MaxUses: 1}, services.CodeSharePartyUnknown},
			"not allowed":       {ana, NewShare{Party: "rent-co", Predicates: ok, ValidUntil: day, MaxUses: 1}, services.CodeSharePredicateNotAllowed},
			"unknown predicate": {ana, NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: "salary_is"}}, ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"no predicates":     {ana, NewShare{Party: "demo-bank", ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"twice":             {ana, NewShare{Party: "demo-bank", Predicates: append(ok, ok...), ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"string for fen":    {ana, NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: BalanceAtLeast, Value: "100"}}, ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"zero fen":          {ana, NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: BalanceAtLeast, Value: int64(0)}}, ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"too many months":   {ana, NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: ContinuousMonthsAtLeast, Value: int64(601)}}, ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"made-up status":    {ana, NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: AccountStatusIs, Value: "rich"}}, ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"bad unit checksum": {ana, NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: EmployedBy, Value: unitMinghu[:17] + "0"}}, ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"value on the loan": {ana, NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: HasNoOutstandingLoan, Value: int64(1)}}, ValidUntil: day, MaxUses: 1}, services.CodeInvalid},
			"valid_until past":  {ana, NewShare{Party: "demo-bank", Predicates: ok, ValidUntil: r.clock().Add(-time.Minute), MaxUses: 1}, services.CodeInvalid},
			"valid_until far":   {ana, NewShare{Party: "demo-bank", Predicates: ok, ValidUntil: r.clock().Add(91 * 24 * time.Hour), MaxUses: 1}, services.CodeInvalid},
			"no uses":           {ana, NewShare{Party: "demo-bank", Predicates: ok, ValidUntil: day, MaxUses: 0}, services.CodeInvalid},
			"too many uses":     {ana, NewShare{Party: "demo-bank", Predicates: ok, ValidUntil: day, MaxUses: 11}, services.CodeInvalid},
		}
		for name, tt := range tests {
			tt.r.IdempotencyKey, tt.r.RequestHash = "k-"+name, "h"
			_, err := r.svc.Create(ctx, tt.p, tt.r)
			wantCode(t, name, err, tt.code)
		}
		if n := r.count(t, `SELECT count(*) FROM shares`); n != 0 {
			t.Errorf("%d shares stored by refused requests", n)
		}
		if n := r.audit.count(ActionCreate, "denied"); n != len(tests)-1 { // the party is refused before the trail
			t.Errorf("%d denied share.create records, want %d", n, len(tests)-1)
		}
	})
}

// TestPredicates answers each predicate from the core's facts, fresh only.
func TestPredicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		all := []Predicate{
			{Name: ContinuousMonthsAtLeast, Value: int64(60)},
			{Name: MonthlyDepositAtLeast, Value: int64(600_000)},
			{Name: BalanceAtLeast, Value: int64(12_000_000)},
			{Name: AccountStatusIs, Value: StatusNormal},
			{Name: HasNoOutstandingLoan},
			{Name: EmployedBy, Value: unitMinghu},
		}
		answers := func(subject string) []Answer {
			var out []Answer
			for _, res := range r.svc.evaluate(ctx, subject, all) {
				out = append(out, res.Answer)
			}
			return out
		}
		// ana: normal, 60 months up to last month, 6,000 yuan a month,
		// 120,000 yuan, a loan owing, at Minghu.
		if diff := cmp.Diff([]Answer{Yes, Yes, Yes, Yes, No, Yes}, answers(ana.Subject)); diff != "" {
			t.Errorf("ana (-want +got):\n%s", diff)
		}
		// bo: sealed 8 months ago: the run has ended, nothing deposited,
		// less money, another status, no loan, no longer at Minghu.
		if diff := cmp.Diff([]Answer{No, No, No, No, Yes, No}, answers(bo.Subject)); diff != "" {
			t.Errorf("bo (-want +got):\n%s", diff)
		}
		// No account at all: no, and no loan either.
		if diff := cmp.Diff([]Answer{No, No, No, No, Yes, No}, answers("sub-nobody")); diff != "" {
			t.Errorf("no account (-want +got):\n%s", diff)
		}
		// The core down, or only remembered answers: cannot tell.
		r.core.fail = services.E(services.CodeCoreUnavailable)
		want := []Answer{CannotTell, CannotTell, CannotTell, CannotTell, CannotTell, CannotTell}
		if diff := cmp.Diff(want, answers(ana.Subject)); diff != "" {
			t.Errorf("core down (-want +got):\n%s", diff)
		}
		r.core.fail, r.core.stale = nil, true
		if diff := cmp.Diff(want, answers(ana.Subject)); diff != "" {
			t.Errorf("stale (-want +got):\n%s", diff)
		}
		r.core.stale = false
		// One below and one at each threshold.
		edge := []Predicate{{Name: BalanceAtLeast, Value: int64(12_000_001)}, {Name: ContinuousMonthsAtLeast, Value: int64(61)},
			{Name: AccountStatusIs, Value: StatusSealed}}
		var got []Answer
		for _, res := range r.svc.evaluate(ctx, ana.Subject, edge) {
			got = append(got, res.Answer)
		}
		if diff := cmp.Diff([]Answer{No, No, No}, got); diff != "" {
			t.Errorf("thresholds (-want +got):\n%s", diff)
		}
	})
}

// jwsClaims checks a JWS with the JWKS alone and returns its header and claims.
func jwsClaims(t *testing.T, jwks []byte, jws string) (map[string]any, Claims) {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	var header map[string]any
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(h, &header); err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	alg, err := jwkstest.Verify(jwks, header["kid"].(string), []byte(parts[0]+"."+parts[1]), sig)
	if err != nil {
		t.Fatal(err)
	}
	if alg != header["alg"] || header["typ"] != JWSType || !strings.HasPrefix(header["kid"].(string), "shares-") {
		t.Errorf("header %v, key alg %s", header, alg)
	}
	var c Claims
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(p, &c); err != nil {
		t.Fatal(err)
	}
	return header, c
}

// The whole life of a share: made, redeemed by its party with signed
// answers that verify with the JWKS alone, seen by its person with each
// use, refused to another party, revoked, refused after.
func TestRedeemAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		c := r.share(t, ana, "demo-bank", 3, Predicate{Name: BalanceAtLeast, Value: int64(10_000_000)}, Predicate{Name: HasNoOutstandingLoan})
		if len(c.Code) != CodeLength+3 || c.Share.Status != ShareActive || c.Share.PartyName != "示范银行" {
			t.Fatalf("created %+v", c)
		}
		if n := r.count(t, `SELECT count(*) FROM shares WHERE code_hash = $1`, normalizeCode(c.Code)); n != 0 {
			t.Error("the code itself is stored")
		}
		// Another party's code is the same answer as an unknown one.
		_, err := r.svc.Redeem(ctx, rent, Redeem{Code: c.Code})
		wantCode(t, "another party", err, services.CodeShareCodeInvalid)
		_, err = r.svc.Redeem(ctx, ana, Redeem{Code: c.Code})
		wantCode(t, "a depositor", err, services.CodeForbidden)
		// Typed as people type: lower case, no dashes, O for 0.
		typed := strings.ToLower(strings.ReplaceAll(c.Code, "-", ""))
		got, err := r.svc.Redeem(ctx, bank, Redeem{Code: typed})
		if err != nil {
			t.Fatal(err)
		}
		if got.ShareID != c.Share.ID || got.UsesLeft != 2 || got.Answers[0].Answer != Yes || got.Answers[1].Answer != No {
			t.Errorf("redeemed %+v", got)
		}
		_, claims := jwsClaims(t, r.ring.JWKS(), got.JWS)
		if claims.Party != "demo-bank" || claims.Share != c.Share.ID || claims.Issuer != "330100" ||
			!strings.HasPrefix(claims.Subject, "psn_") || claims.Subject == ana.Subject || len(claims.Answers) != 2 ||
			claims.Answers[0].Answer != Yes || claims.Answers[1].Answer != No || claims.IssuedAt == nil {
			t.Errorf("claims %+v", claims)
		}
		if rec := r.audit.last(ActionRedeem); rec.Actor != "party:demo-bank" || rec.Subject != ana.Subject ||
			rec.Target != "share:"+c.Share.ID || rec.Result != "ok" {
			t.Errorf("audit %+v", rec)
		}
		// The person sees the use: party, time, predicates and answers.
		sh, err := r.svc.Get(ctx, ana, c.Share.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sh.Uses) != 1 || sh.Uses[0].PartyName != "示范银行" || !sh.Uses[0].At.Equal(store.Timestamp(t0)) || sh.Used != 1 ||
			sh.Uses[0].Answers[0].Value != int64(10_000_000) {
			t.Errorf("share as seen %+v", sh)
		}
		_, err = r.svc.Get(ctx, bo, c.Share.ID)
		wantCode(t, "another person's share", err, services.CodeShareNotFound)
		_, err = r.svc.Revoke(ctx, bo, c.Share.ID)
		wantCode(t, "another person's revoke", err, services.CodeShareNotFound)
		// Revoked: the next redemption fails at once.
		if sh, err = r.svc.Revoke(ctx, ana, c.Share.ID); err != nil || sh.Status != ShareRevoked {
			t.Fatalf("revoke %+v %v", sh, err)
		}
		_, err = r.svc.Redeem(ctx, bank, Redeem{Code: c.Code})
		wantCode(t, "revoked", err, services.CodeShareRevoked)
		if rec := r.audit.last(ActionRedeem); rec.Result != "denied" || rec.Subject != ana.Subject {
			t.Errorf("denied redemption audited as %+v", rec)
		}
		// A per-party pseudonym: the same person at another party is
		// someone else.
		c2 := r.share(t, ana, "rent-co", 1, Predicate{Name: AccountStatusIs, Value: StatusNormal})
		got2, err := r.svc.Redeem(ctx, rent, Redeem{Code: c2.Code})
		if err != nil {
			t.Fatal(err)
		}
		if _, claims2 := jwsClaims(t, r.ring.JWKS(), got2.JWS); claims2.Subject == claims.Subject {
			t.Error("one pseudonym for two parties")
		}
		// Used up, then expired.
		_, err = r.svc.Redeem(ctx, rent, Redeem{Code: c2.Code})
		wantCode(t, "used up", err, services.CodeShareUsedUp)
		c3 := r.share(t, ana, "demo-bank", 5, Predicate{Name: BalanceAtLeast, Value: int64(1)})
		r.advance(24 * time.Hour)
		_, err = r.svc.Redeem(ctx, bank, Redeem{Code: c3.Code})
		wantCode(t, "expired", err, services.CodeShareExpired)
	})
}

// Two redemptions at once of a share's last use: exactly one wins.
func TestLastUseOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		c := r.share(t, ana, "demo-bank", 1, Predicate{Name: BalanceAtLeast, Value: int64(1)})
		const n = 8
		var wg sync.WaitGroup
		codes := make([]services.Code, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := r.svc.Redeem(context.Background(), bank, Redeem{Code: c.Code})
				codes[i] = "ok"
				if err != nil {
					codes[i] = services.ErrorCode(err)
				}
			}()
		}
		wg.Wait()
		won := 0
		for _, code := range codes {
			switch code {
			case "ok":
				won++
			case services.CodeShareUsedUp:
			default:
				t.Errorf("a redemption failed with %s", code)
			}
		}
		if won != 1 || r.count(t, `SELECT count(*) FROM share_uses`) != 1 || r.count(t, `SELECT uses FROM shares`) != 1 {
			t.Errorf("%d won (%v); want exactly one use", won, codes)
		}
	})
}

// A redemption while the core is down answers cannot_tell and spends no use.
func TestCannotTellSpendsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		c := r.share(t, ana, "demo-bank", 1, Predicate{Name: BalanceAtLeast, Value: int64(1)})
		r.core.fail = services.E(services.CodeCoreUnavailable)
		got, err := r.svc.Redeem(context.Background(), bank, Redeem{Code: c.Code})
		if err != nil || got.Answers[0].Answer != CannotTell || got.UsesLeft != 1 {
			t.Fatalf("%+v %v", got, err)
		}
		r.core.fail = nil
		if got, err = r.svc.Redeem(context.Background(), bank, Redeem{Code: c.Code}); err != nil || got.Answers[0].Answer != Yes {
			t.Fatalf("%+v %v", got, err)
		}
	})
}

// Guessing codes: after max_failed_redemptions misses in the window the
// party is refused, even with a good code, until the window ends.
func TestGuessesAreBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		c := r.share(t, ana, "demo-bank", 2, Predicate{Name: BalanceAtLeast, Value: int64(1)})
		for i := range DefaultPolicy().MaxFailedRedemptions {
			guess := newCode()
			if i%2 == 0 {
				guess = "not a code"
			}
			_, err := r.svc.Redeem(ctx, bank, Redeem{Code: guess})
			wantCode(t, "a guess", err, services.CodeShareCodeInvalid)
		}
		_, err := r.svc.Redeem(ctx, bank, Redeem{Code: c.Code})
		wantCode(t, "after the guesses", err, services.CodeRateLimited)
		if e := services.AsError(err); e.RetryAfter <= 0 {
			t.Errorf("no Retry-After: %+v", e)
		}
		// Another party is not held back by this one's guesses.
		c2 := r.share(t, ana, "rent-co", 1, Predicate{Name: AccountStatusIs, Value: StatusNormal})
		if _, err := r.svc.Redeem(ctx, rent, Redeem{Code: c2.Code}); err != nil {
			t.Fatal(err)
		}
		r.advance(DefaultPolicy().FailedRedemptionWindow + time.Second)
		if _, err := r.svc.Redeem(ctx, bank, Redeem{Code: c.Code}); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

// A retried creation with the same Idempotency-Key is the same share with
// a new code; the first code works no more. Another body is refused.
func TestCreateReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		req := NewShare{Party: "demo-bank", Predicates: []Predicate{{Name: BalanceAtLeast, Value: int64(1)}},
			ValidUntil: r.clock().Add(time.Hour), MaxUses: 2, IdempotencyKey: "key-1", RequestHash: "h1"}
		first, err := r.svc.Create(ctx, ana, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := r.svc.Create(ctx, ana, req)
		if err != nil || again.Share.ID != first.Share.ID || !again.Replayed || again.Code == first.Code {
			t.Fatalf("replay %+v %v", again, err)
		}
		_, err = r.svc.Redeem(ctx, bank, Redeem{Code: first.Code})
		wantCode(t, "the first code", err, services.CodeShareCodeInvalid)
		if _, err := r.svc.Redeem(ctx, bank, Redeem{Code: again.Code}); err != nil {
			t.Fatal(err)
		}
		req.RequestHash = "h2"
		_, err = r.svc.Create(ctx, ana, req)
		wantCode(t, "another body", err, services.CodeIdempotencyKeyReused)
		// The same key is bo's own to use.
		req.RequestHash = "h1"
		if other, err := r.svc.Create(ctx, bo, req); err != nil || other.Share.ID == first.Share.ID {
			t.Fatalf("bo's share %+v %v", other, err)
		}
	})
}

// A party's request: the same answer whether or not the person exists;
// the person sees it, approves or declines; the party follows it and
// redeems an approved one by its id; nobody else reaches it.
func TestRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		ask := func(p services.Principal, id, name string) (Request, error) {
			return r.svc.Ask(ctx, p, NewRequest{IDNumber: id, Name: name, Purpose: "住房贷款审批",
				Predicates: []Predicate{{Name: BalanceAtLeast, Value: int64(1_000_000)}, {Name: ContinuousMonthsAtLeast, Value: int64(12)}},
				ValidUntil: r.clock().Add(30 * 24 * time.Hour), MaxUses: 1})
		}
		forAna, err := ask(bank, idAna, "张伟")
		if err != nil {
			t.Fatal(err)
		}
		forNobody, err := ask(bank, withCheck("11010519491231002"), "某某")
		if err != nil {
			t.Fatal(err)
		}
		strip := func(q Request) Request { q.ID = ""; return q }
		if diff := cmp.Diff(strip(forAna), strip(forNobody)); diff != "" {
			t.Errorf("a request's answer tells whether the person exists:\n%s", diff)
		}
		for name, bad := range map[string]NewRequest{
			"bad ID number": {IDNumber: idAna[:17] + "0", Name: "张伟", Predicates: []Predicate{{Name: BalanceAtLeast, Value: int64(1)}}, ValidUntil: r.clock().Add(time.Hour), MaxUses: 1},
			"no name":       {IDNumber: idAna, Predicates: []Predicate{{Name: BalanceAtLeast, Value: int64(1)}}, ValidUntil: r.clock().Add(time.Hour), MaxUses: 1},
		} {
			_, err := r.svc.Ask(ctx, bank, bad)
			wantCode(t, name, err, services.CodeInvalid)
		}
		_, err = ask(rent, idAna, "张伟")
		wantCode(t, "not allowed", err, services.CodeSharePredicateNotAllowed)
		_, err = ask(ana, idAna, "张伟")
		wantCode(t, "a depositor asking", err, services.CodeForbidden)
		// Only ana sees hers.
		mine, _, err := r.svc.Requests(ctx, ana, 0, "")
		if err != nil || len(mine) != 1 || mine[0].ID != forAna.ID || mine[0].Purpose != "住房贷款审批" || mine[0].PartyName != "示范银行" {
			t.Fatalf("ana's requests %+v %v", mine, err)
		}
		if theirs, _, err := r.svc.Requests(ctx, bo, 0, ""); err != nil || len(theirs) != 0 {
			t.Fatalf("bo's requests %+v %v", theirs, err)
		}
		_, _, err = r.svc.Approve(ctx, bo, forAna.ID)
		wantCode(t, "bo approving ana's", err, services.CodeShareRequestNotFound)
		_, err = r.svc.Asked(ctx, rent, forAna.ID)
		wantCode(t, "another party following it", err, services.CodeShareRequestNotFound)
		_, err = r.svc.Redeem(ctx, bank, Redeem{RequestID: forAna.ID})
		wantCode(t, "redeeming before approval", err, services.CodeShareRequestPending)
		req, sh, err := r.svc.Approve(ctx, ana, forAna.ID)
		if err != nil || req.Status != RequestApproved || sh.RequestID != forAna.ID || sh.PartyID != "demo-bank" || sh.MaxUses != 1 {
			t.Fatalf("approve %+v %+v %v", req, sh, err)
		}
		_, _, err = r.svc.Approve(ctx, ana, forAna.ID)
		wantCode(t, "approving twice", err, services.CodeShareRequestClosed)
		_, err = r.svc.Decline(ctx, ana, forAna.ID)
		wantCode(t, "declining after approval", err, services.CodeShareRequestClosed)
		if q, err := r.svc.Asked(ctx, bank, forAna.ID); err != nil || q.Status != RequestApproved || q.ShareID != sh.ID {
			t.Fatalf("the party's view %+v %v", q, err)
		}
		_, err = r.svc.Redeem(ctx, rent, Redeem{RequestID: forAna.ID})
		wantCode(t, "another party redeeming it", err, services.CodeShareRequestNotFound)
		got, err := r.svc.Redeem(ctx, bank, Redeem{RequestID: forAna.ID})
		if err != nil || got.ShareID != sh.ID || got.Answers[0].Answer != Yes || got.Answers[1].Answer != Yes {
			t.Fatalf("redeem by request %+v %v", got, err)
		}
		// One waiting request per party and person, for a depositor and
		// for nobody alike; another party may ask.
		waiting, err := ask(bank, withCheck("11010519491231003"), "某甲")
		if err != nil {
			t.Fatal(err)
		}
		_, err = ask(bank, withCheck("11010519491231003"), "某甲")
		wantCode(t, "asking again while one waits", err, services.CodeShareRequestPending)
		_, err = ask(bank, withCheck("11010519491231002"), "某某")
		wantCode(t, "asking nobody again while one waits", err, services.CodeShareRequestPending)
		if _, err := ask(bank, withCheck("11010519491231003"), "某乙"); err != nil {
			t.Errorf("another name is another person: %v", err)
		}
		if r.count(t, `SELECT count(*) FROM share_requests WHERE id = $1`, waiting.ID) != 1 {
			t.Fatal("the waiting request went")
		}
		// A second request, declined.
		second, err := ask(bank, idAna, "张伟")
		if err != nil {
			t.Fatal(err)
		}
		if q, err := r.svc.Decline(ctx, ana, second.ID); err != nil || q.Status != RequestDeclined {
			t.Fatalf("decline %+v %v", q, err)
		}
		_, err = r.svc.Redeem(ctx, bank, Redeem{RequestID: second.ID})
		wantCode(t, "redeeming a declined request", err, services.CodeShareRequestClosed)
		// A third, expired before an answer.
		third, err := ask(bank, idAna, "张伟")
		if err != nil {
			t.Fatal(err)
		}
		r.advance(DefaultPolicy().RequestTTL)
		_, _, err = r.svc.Approve(ctx, ana, third.ID)
		wantCode(t, "approving an expired request", err, services.CodeShareRequestClosed)
		for action, want := range map[string]int{ActionRequestCreate: 6, ActionRequestApprove: 1, ActionRequestDecline: 1} {
			if n := r.audit.count(action, "ok"); n != want {
				t.Errorf("%d %s records, want %d", n, action, want)
			}
		}
	})
}

// A registry changed after a share was made: a party no longer allowed a
// predicate is refused it at redemption, and a party since disabled
// cannot redeem at all.
func TestRegistryChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		c := r.share(t, ana, "rent-co", 2, Predicate{Name: ContinuousMonthsAtLeast, Value: int64(12)}, Predicate{Name: AccountStatusIs, Value: StatusNormal})
		narrowed := testParties()
		narrowed[1].Predicates = []string{AccountStatusIs}
		d := r.svc.Deps
		d.Parties = narrowed
		svc, err := New(d)
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.Redeem(ctx, rent, Redeem{Code: c.Code})
		wantCode(t, "a predicate no longer allowed", err, services.CodeSharePredicateNotAllowed)
		narrowed[1].Enabled = false
		d.Parties = narrowed
		if svc, err = New(d); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Redeem(ctx, rent, Redeem{Code: c.Code})
		wantCode(t, "a disabled party", err, services.CodeForbidden)
		if n := r.count(t, `SELECT uses FROM shares WHERE id = $1`, c.Share.ID); n != 0 {
			t.Errorf("refused redemptions spent %d uses", n)
		}
	})
}

// Two asks for one person at once: exactly one request waits.
func TestAskTwiceAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = r.svc.Ask(context.Background(), bank, NewRequest{IDNumber: idAna, Name: "张伟",
					Predicates: []Predicate{{Name: HasNoOutstandingLoan}}, ValidUntil: r.clock().Add(30 * 24 * time.Hour), MaxUses: 1})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if services.ErrorCode(err) != services.CodeShareRequestPending {
				t.Errorf("a refused ask: %v", err)
			}
		}
		if n := r.count(t, `SELECT count(*) FROM share_requests`); ok != 1 || n != 1 {
			t.Errorf("%d asks answered, %d requests stored; want 1 and 1", ok, n)
		}
	})
}
