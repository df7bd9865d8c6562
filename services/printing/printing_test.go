package printing

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/locales"
	"handheld/services"
	"handheld/services/audit"
	"handheld/services/certificate"
	"handheld/services/certpdf"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// now is the fake clock's start: 2026-12-06 23:50 in Shanghai, ten
// minutes before the centre's day ends (and still the 6th in UTC).
var start = time.Date(2026, 12, 6, 15, 50, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := audit.Check(r); err != nil {
		return err
	}
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.records {
		out = append(out, r.Action+" "+r.Subject+" "+r.Target+" "+r.Result)
	}
	return out
}

// fakeCore is two people: P1 (张伟) with a running loan and entries, P2
// (赵建国) with a settled one.
type fakeCore struct{ deposits []core.Deposit }

func (f *fakeCore) Person(_ context.Context, id string) (core.Person, core.Freshness, error) {
	return core.Person{PersonID: id, Name: map[string]string{"P1": "张伟", "P2": "赵建国"}[id], IDNumber: "330106198503124134"}, core.Freshness{}, nil
}
func (f *fakeCore) Account(context.Context, string) (core.Account, core.Freshness, error) {
	return core.Account{AccountNumber: "330101000101", UnitName: "杭州明湖软件科技有限公司", BalanceFen: 5_000_00}, core.Freshness{}, nil
}
func (f *fakeCore) Deposits(_ context.Context, _ string, q core.DepositQuery) (core.DepositPage, core.Freshness, error) {
	var out []core.Deposit
	for _, d := range f.deposits {
		if d.Month >= q.From && d.Month <= q.To {
			out = append(out, d)
		}
	}
	return core.DepositPage{Items: out}, core.Freshness{}, nil
}
func (f *fakeCore) Loan(_ context.Context, id string) (core.Loan, core.Freshness, error) {
	if id == "P2" {
		return core.Loan{HasLoan: true, LoanNumber: "DK3301", PrincipalFen: 30_000_000, Months: 120, Method: "annuity",
			StartedOn: "2014-01-20", Settled: true}, core.Freshness{}, nil
	}
	return core.Loan{HasLoan: true, LoanNumber: "DK3302", PrincipalFen: 80_000_000, OutstandingFen: 76_000_000,
		Months: 360, Method: "annuity", StartedOn: "2024-09-20", NextDueOn: "2026-12-20", NextPaymentFen: 330846}, core.Freshness{}, nil
}
func (f *fakeCore) LoanSchedule(context.Context, string, int, string) (core.SchedulePage, core.Freshness, error) {
	return core.SchedulePage{Items: []core.Instalment{{Period: 1, DueOn: "2024-10-20", PaymentFen: 330846, RemainingFen: 79_900_000, Status: "paid"},
		{Period: 2, DueOn: "2026-12-20", PaymentFen: 330846, RemainingFen: 79_800_000, Status: "due"}}}, core.Freshness{}, nil
}

type fakePeople struct{}

func (fakePeople) PersonID(_ context.Context, subject string) (string, error) {
	return map[string]string{"s-zhang": "P1", "s-zhao": "P2"}[subject], nil
}

type fakeCertificates struct{}

func (fakeCertificates) PrintCopy(_ context.Context, p services.Principal, id string) (certificate.Printable, error) {
	switch {
	case id == "c0ffee" && p.Subject == "s-zhang":
		return certificate.Printable{PDF: []byte("%PDF-1.7 /Type /Page\n"), Number: "330100-2026-000001"}, nil
	case id == "dead00" && p.Subject == "s-zhang":
		return certificate.Printable{}, services.E(services.CodePrintCertificateNotValid)
	}
	return certificate.Printable{}, services.E(services.CodeNotFound)
}

type fakeDevices struct{}

func (fakeDevices) Device(id string) (identity.Device, bool) {
	return identity.Device{ID: id, Location: "市民中心 " + id, Enabled: true}, true
}

// recordingRenderer keeps the last document and renders a one-page stand-in.
type recordingRenderer struct {
	mu   sync.Mutex
	last certpdf.Plain
}

func (r *recordingRenderer) RenderPlain(p certpdf.Plain) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = p
	return []byte("%PDF-1.7\n1 0 obj << /Type /Pages >>\n2 0 obj << /Type /Page\n>>\n3 0 obj << /Type /Page >>\n"), nil
}

type rig struct {
	svc   *Service
	clock *clock
	audit *fakeAudit
	rend  *recordingRenderer
	store *store.Store
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{clock: &clock{t: start}, audit: &fakeAudit{}, rend: &recordingRenderer{}, store: s}
	fc := &fakeCore{deposits: []core.Deposit{
		{ID: "d3", Month: "2026-11", PostedOn: "2026-11-20", Kind: "remittance", AmountFen: 6000_00, BalanceAfterFen: 18000_00},
		{ID: "d2", Month: "2026-10", PostedOn: "2026-10-20", Kind: "withdrawal", AmountFen: -1000_00, BalanceAfterFen: 12000_00},
		{ID: "d1", Month: "2026-09", PostedOn: "2026-09-20", Kind: "remittance", AmountFen: 6000_00, BalanceAfterFen: 13000_00},
	}}
	r.svc, err = New(Deps{Store: s, Reader: fc, People: fakePeople{}, Certificates: fakeCertificates{}, Renderer: r.rend,
		Devices: fakeDevices{}, Texts: cat, Audit: r.audit, CentreName: "杭州住房公积金管理中心",
		Policy: Policy{MaxPerDay: 3, TTL: 10 * time.Minute}, Now: r.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func citizen(subject, device string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelKiosk, Device: device}
}

func device(id string) services.Principal {
	return services.Principal{Subject: "device:" + id, Role: services.RoleKiosk, Channel: services.ChannelKiosk, Device: id}
}

func code(err error) services.Code { return services.ErrorCode(err) }

// TestJobLifecycle: a job is ready for its own kiosk only, printed once,
// listed for its holder on any channel, and hidden from everyone else.
func TestJobLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r := newRig(t, s)
		zhang := citizen("s-zhang", "K1")
		j, err := r.svc.Create(ctx, zhang, Request{Document: DocDepositStatement, From: "2026-10", To: "2026-11", Locale: "zh-CN"})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != StatusReady || j.Pages != 2 || j.DeviceID != "K1" || j.Location != "市民中心 K1" || j.From != "2026-10" ||
			!j.ExpiresAt.Equal(j.CreatedAt.Add(10*time.Minute)) {
			t.Fatalf("job %+v", j)
		}
		doc := r.rend.last
		if doc.Table == nil || len(doc.Table.Rows) != 2 || doc.Table.Rows[0][0] != "2026-10-20" || doc.After[0][1] != "18,000.00" ||
			doc.Facts[4][1] != "13,000.00" || !strings.Contains(strings.Join(doc.Notes, " "), j.ID) ||
			!strings.Contains(strings.Join(doc.Notes, " "), "市民中心 K1") || doc.Issuer != "杭州住房公积金管理中心" {
			t.Fatalf("statement %+v", doc)
		}

		// The PDF is sealed at rest.
		var raw []byte
		if err := s.QueryRow(ctx, `SELECT pdf FROM print_jobs WHERE id = $1`, j.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "%PDF") {
			t.Fatal("the PDF is stored in clear")
		}

		// Another person, another kiosk: not found; the owner's job is.
		if _, err := r.svc.Get(ctx, citizen("s-zhao", "K1"), j.ID); code(err) != services.CodeNotFound {
			t.Fatalf("another person's job: %v", err)
		}
		if got, err := r.svc.Get(ctx, zhang, j.ID); err != nil || got.ID != j.ID {
			t.Fatalf("own job: %v", err)
		}
		if q, err := r.svc.Queue(ctx, device("K2")); err != nil || len(q) != 0 {
			t.Fatalf("K2's queue %v %v", q, err)
		}
		if _, err := r.svc.Document(ctx, device("K2"), j.ID); code(err) != services.CodeNotFound {
			t.Fatalf("another kiosk fetched: %v", err)
		}
		if _, err := r.svc.Document(ctx, zhang, j.ID); code(err) != services.CodeForbidden {
			t.Fatalf("a citizen fetched the document: %v", err)
		}
		if q, err := r.svc.Queue(ctx, device("K1")); err != nil || len(q) != 1 || q[0].ID != j.ID {
			t.Fatalf("K1's queue %v %v", q, err)
		}

		// Twice at once: one fetch gets the PDF, the other is refused.
		var wg sync.WaitGroup
		results := make([]error, 2)
		pdfs := make([][]byte, 2)
		for i := range 2 {
			wg.Go(func() { pdfs[i], results[i] = r.svc.Document(ctx, device("K1"), j.ID) })
		}
		wg.Wait()
		ok := 0
		for i, err := range results {
			switch {
			case err == nil && strings.HasPrefix(string(pdfs[i]), "%PDF"):
				ok++
			case code(err) != services.CodePrintAlreadyPrinted:
				t.Fatalf("concurrent fetch: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d fetches got the PDF, want 1", ok)
		}
		if _, err := r.svc.Document(ctx, device("K1"), j.ID); code(err) != services.CodePrintAlreadyPrinted {
			t.Fatalf("fetch after printing: %v", err)
		}
		if err := s.QueryRow(ctx, `SELECT pdf FROM print_jobs WHERE id = $1`, j.ID).Scan(&raw); err != nil || len(raw) != 0 {
			t.Fatalf("the PDF outlived its print: %d bytes, %v", len(raw), err)
		}
		if q, _ := r.svc.Queue(ctx, device("K1")); len(q) != 0 {
			t.Fatalf("printed job still queued: %v", q)
		}

		// The holder sees it from the mini-program too.
		mini := services.Principal{Subject: "s-zhang", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
		page, err := r.svc.List(ctx, mini, 20, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].Status != StatusPrinted || page.Items[0].PrintedAt == nil {
			t.Fatalf("list %+v %v", page, err)
		}
		if other, _ := r.svc.List(ctx, citizen("s-zhao", "K1"), 20, ""); len(other.Items) != 0 {
			t.Fatalf("another person's list shows %v", other.Items)
		}
		if _, err := r.svc.List(ctx, mini, 20, "bad cursor!"); code(err) != services.CodeInvalid {
			t.Fatalf("bad cursor: %v", err)
		}
		// Creation needs a kiosk session.
		if _, err := r.svc.Create(ctx, mini, Request{Document: DocLoanStatement}); code(err) != services.CodeForbidden {
			t.Fatalf("mini-program create: %v", err)
		}
		want := []string{"print.create s-zhang print_job:" + j.ID + " ok", "print.fetch s-zhang print_job:" + j.ID + " ok"}
		got := strings.Join(r.audit.actions(), "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("audit lacks %q:\n%s", w, got)
			}
		}
	})
}

// TestExpiry: a job nobody printed within the TTL is expired, its PDF
// gone, and its fetch refused.
func TestExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r := newRig(t, s)
		j, err := r.svc.Create(ctx, citizen("s-zhang", "K1"), Request{Document: DocLoanStatement})
		if err != nil {
			t.Fatal(err)
		}
		r.clock.add(10 * time.Minute)
		if got, _ := r.svc.Get(ctx, citizen("s-zhang", "K1"), j.ID); got.Status != StatusExpired {
			t.Fatalf("status %s", got.Status)
		}
		if q, err := r.svc.Queue(ctx, device("K1")); err != nil || len(q) != 0 {
			t.Fatalf("queue %v %v", q, err)
		}
		var raw []byte
		if err := s.QueryRow(ctx, `SELECT pdf FROM print_jobs WHERE id = $1`, j.ID).Scan(&raw); err != nil || len(raw) != 0 {
			t.Fatalf("expired PDF kept: %d %v", len(raw), err)
		}
		if _, err := r.svc.Document(ctx, device("K1"), j.ID); code(err) != services.CodePrintExpired {
			t.Fatalf("expired fetch: %v", err)
		}
	})
}

// TestDailyLimit: the limit counts a person's prints in Shanghai days,
// all kiosks together, even when they are asked for at once; the next
// day starts afresh.
func TestDailyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r := newRig(t, s)
		var wg sync.WaitGroup
		errs := make([]error, 5)
		for i := range 5 {
			wg.Go(func() {
				_, errs[i] = r.svc.Create(ctx, citizen("s-zhang", "K"+string(rune('1'+i%2))), Request{Document: DocLoanStatement})
			})
		}
		wg.Wait()
		ok, limited := 0, 0
		for _, err := range errs {
			switch code(err) {
			case "":
				ok++
			case services.CodePrintDailyLimit:
				limited++
				var e *services.Error
				if !errors.As(err, &e) || e.RetryAfter <= 0 || e.RetryAfter > 10*time.Minute || e.Params["max"] != 3 {
					t.Errorf("limit error %+v", e)
				}
			default:
				if err != nil {
					ok += 0
					t.Errorf("create: %v", err)
				} else {
					ok++
				}
			}
		}
		if ok != 3 || limited != 2 {
			t.Fatalf("%d created, %d limited: %v", ok, limited, errs)
		}
		// Another person is not affected.
		if _, err := r.svc.Create(ctx, citizen("s-zhao", "K1"), Request{Document: DocLoanSettled}); err != nil {
			t.Fatal(err)
		}
		// Past midnight in Shanghai (still the same UTC day): a new day.
		r.clock.add(15 * time.Minute)
		if _, err := r.svc.Create(ctx, citizen("s-zhang", "K1"), Request{Document: DocLoanStatement}); err != nil {
			t.Fatalf("next day: %v", err)
		}
	})
}

// TestRefusals: documents a person cannot have, and bad requests, are
// refused with stable codes before anything is stored.
func TestRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r := newRig(t, s)
		zhang, zhao := citizen("s-zhang", "K1"), citizen("s-zhao", "K1")
		tests := []struct {
			name  string
			p     services.Principal
			req   Request
			code  services.Code
			field string
		}{
			{"running loan, settled certificate", zhang, Request{Document: DocLoanSettled}, services.CodePrintLoanNotSettled, ""},
			{"revoked certificate", zhang, Request{Document: DocCertificate, CertificateID: "dead00"}, services.CodePrintCertificateNotValid, ""},
			{"another person's certificate", zhao, Request{Document: DocCertificate, CertificateID: "c0ffee"}, services.CodeNotFound, ""},
			{"unknown document", zhang, Request{Document: "passport"}, services.CodeInvalid, "document"},
			{"bad month", zhang, Request{Document: DocDepositStatement, From: "2026-13"}, services.CodeInvalid, "from"},
			{"bad format", zhang, Request{Document: DocDepositStatement, To: "202611"}, services.CodeInvalid, "to"},
			{"to before from", zhang, Request{Document: DocDepositStatement, From: "2026-06", To: "2026-01"}, services.CodeInvalid, "from"},
			{"over 36 months", zhang, Request{Document: DocDepositStatement, From: "2023-11", To: "2026-11"}, services.CodeInvalid, "from"},
			{"future", zhang, Request{Document: DocDepositStatement, To: "2027-01"}, services.CodeInvalid, "to"},
			{"period on a loan statement", zhang, Request{Document: DocLoanStatement, From: "2026-01"}, services.CodeInvalid, "from"},
			{"certificate without id", zhang, Request{Document: DocCertificate}, services.CodeInvalid, "certificate_id"},
			{"script in the id", zhang, Request{Document: DocCertificate, CertificateID: "<script>"}, services.CodeInvalid, "certificate_id"},
		}
		for _, tt := range tests {
			_, err := r.svc.Create(ctx, tt.p, tt.req)
			if code(err) != tt.code {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
				continue
			}
			var e *services.Error
			if tt.field != "" && (!errors.As(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != tt.field) {
				t.Errorf("%s: fields %+v, want %s", tt.name, e, tt.field)
			}
		}
		// 36 months exactly is fine, and so is this month.
		if _, err := r.svc.Create(ctx, zhang, Request{Document: DocDepositStatement, From: "2023-12", To: "2026-11"}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM print_jobs`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d jobs stored, want only the good one", n)
		}
		// The settled loan prints, with the certificate's sentence.
		if _, err := r.svc.Create(ctx, zhao, Request{Document: DocLoanSettled, Locale: "en"}); err != nil {
			t.Fatal(err)
		}
		if d := r.rend.last; !strings.Contains(d.Intro, "赵建国") || !strings.Contains(d.Intro, "repaid in full") || d.Seal == "" {
			t.Fatalf("settled certificate %+v", d)
		}
		if _, err := r.svc.Create(ctx, zhang, Request{Document: DocCertificate, CertificateID: "c0ffee"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPolicy: the policy's bounds.
func TestPolicy(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Policy{{MaxPerDay: 0, TTL: time.Minute}, {MaxPerDay: 101, TTL: time.Minute}, {MaxPerDay: 1, TTL: time.Second}, {MaxPerDay: 1, TTL: 25 * time.Hour}} {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}
