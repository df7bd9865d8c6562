package material

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

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

func (a *fakeAudit) lines() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.records {
		out = append(out, r.Action+" "+r.Subject+" "+r.Target+" "+r.Result)
	}
	return out
}

var (
	zhang = services.Principal{Subject: "s-zhang", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
	zhao  = services.Principal{Subject: "s-zhao", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
)

type rig struct {
	svc   *Service
	clock *clock
	audit *fakeAudit
	store *store.Store
	dir   string
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "materials")
	blobs, err := NewFileBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{clock: &clock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}, audit: &fakeAudit{}, store: s, dir: dir}
	p := DefaultPolicy()
	p.Retention = 48 * time.Hour
	if r.svc, err = New(Deps{Store: s, Blobs: blobs, Audit: r.audit, Policy: p, Now: r.clock.now}); err != nil {
		t.Fatal(err)
	}
	return r
}

// files lists every file under the blob directory.
func (r *rig) files(t *testing.T) []string {
	var out []string
	filepath.WalkDir(r.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func (r *rig) rows(t *testing.T) int {
	var n int
	if err := r.store.QueryRow(context.Background(), `SELECT COUNT(*) FROM materials`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, err error, code services.Code) {
	t.Helper()
	if got := services.ErrorCode(err); err == nil || got != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func TestMaterials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r := newRig(t, s)

		// A refusal stores nothing: no blob, no row.
		for _, bad := range [][]byte{nil, zipOf(t, "x", []byte("x")), pngBomb(100000, 100000), pdfOf(1, "/OpenAction 3 0 R")} {
			_, err := r.svc.Upload(ctx, zhang, "diagnosis", bad)
			if err == nil {
				t.Fatal("a bad file was accepted")
			}
		}
		_, err := r.svc.Upload(ctx, zhang, "selfie", jpegOf(t, 8, 8))
		wantCode(t, err, services.CodeInvalid)
		if n, f := r.rows(t), r.files(t); n != 0 || len(f) != 0 {
			t.Fatalf("refusals left %d rows and files %v", n, f)
		}

		// A photo with its GPS position: stored re-encoded and sealed.
		photo := withGPS(jpegOf(t, 64, 48))
		m, err := r.svc.Upload(ctx, zhang, "diagnosis", photo)
		if err != nil {
			t.Fatal(err)
		}
		if m.MediaType != MediaJPEG || m.Kind != "diagnosis" || m.UsedBy != "" || !m.ExpiresAt.Equal(m.CreatedAt.Add(48*time.Hour)) {
			t.Fatalf("material %+v", m)
		}
		files := r.files(t)
		if len(files) != 1 {
			t.Fatalf("blob files %v", files)
		}
		onDisk, _ := os.ReadFile(files[0])
		plain, err := r.svc.Open(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if Sniff(plain) != MediaJPEG || bytes.Contains(plain, []byte(gpsMarker)) {
			t.Fatal("opened bytes are not the clean JPEG")
		}
		if bytes.Contains(onDisk, plain[:64]) || bytes.Contains(onDisk, []byte("\xFF\xD8\xFF")) || bytes.Contains(onDisk, []byte("JFIF")) {
			t.Fatal("the blob on disk holds the plaintext")
		}
		if !strings.HasPrefix(string(onDisk), "hs1."+storetest.RingKeyID+".") {
			t.Fatalf("the blob is not sealed with the ring: %q", onDisk[:12])
		}

		// A blob moved under another material's key does not open.
		m2, err := r.svc.Upload(ctx, zhang, "closing_certificate", pdfOf(2, ""))
		if err != nil {
			t.Fatal(err)
		}
		if m2.Pages != 2 || m2.MediaType != MediaPDF {
			t.Fatalf("pdf material %+v", m2)
		}
		swapped, _ := os.ReadFile(r.svc.Blobs.(*FileBlobs).path(m.ID))
		if err := r.svc.Blobs.Put(ctx, m2.ID, swapped); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Open(ctx, m2.ID); err == nil {
			t.Fatal("a blob swapped between materials opened")
		}
		_ = r.svc.Delete(ctx, zhang, m2.ID)

		// Another person's id is not found, exactly like an unknown one.
		for _, id := range []string{m.ID, strings.Repeat("0", 32), "../../etc/passwd"} {
			_, err = r.svc.Get(ctx, zhao, id)
			wantCode(t, err, services.CodeMaterialNotFound)
			wantCode(t, r.svc.Delete(ctx, zhao, id), services.CodeMaterialNotFound)
			wantCode(t, r.svc.Claim(ctx, zhao, []string{id}, "app-zhao"), services.CodeMaterialNotFound)
		}
		page, err := r.svc.List(ctx, zhao, 20, "")
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("zhao sees %v, %v", page.Items, err)
		}

		// The owner's list, paged.
		r.clock.add(time.Minute)
		m3, err := r.svc.Upload(ctx, zhang, "property_registration", pngOf(t, 10, 10))
		if err != nil {
			t.Fatal(err)
		}
		page, err = r.svc.List(ctx, zhang, 1, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != m3.ID || page.NextCursor == "" {
			t.Fatalf("page 1 %+v, %v", page, err)
		}
		page, err = r.svc.List(ctx, zhang, 1, page.NextCursor)
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != m.ID || page.NextCursor != "" {
			t.Fatalf("page 2 %+v, %v", page, err)
		}
		_, err = r.svc.List(ctx, zhang, 0, "!!")
		wantCode(t, err, services.CodeInvalid)

		// Claimed by an application: all or none, then not deletable.
		wantCode(t, r.svc.Claim(ctx, zhang, []string{m.ID, strings.Repeat("a", 32)}, "app-1"), services.CodeMaterialNotFound)
		if got, _ := r.svc.Get(ctx, zhang, m.ID); got.UsedBy != "" {
			t.Fatal("a failed claim left a material claimed")
		}
		if err := r.svc.Claim(ctx, zhang, []string{m.ID}, "app-1"); err != nil {
			t.Fatal(err)
		}
		if err := r.svc.Claim(ctx, zhang, []string{m.ID}, "app-1"); err != nil {
			t.Fatalf("a retried claim by the same application: %v", err)
		}
		wantCode(t, r.svc.Claim(ctx, zhang, []string{m.ID}, "app-2"), services.CodeMaterialInUse)
		wantCode(t, r.svc.Delete(ctx, zhang, m.ID), services.CodeMaterialInUse)

		// Deleting an unused one removes its row and blob.
		if err := r.svc.Delete(ctx, zhang, m3.ID); err != nil {
			t.Fatal(err)
		}
		_, err = r.svc.Get(ctx, zhang, m3.ID)
		wantCode(t, err, services.CodeMaterialNotFound)
		if _, err := r.svc.Blobs.Get(ctx, m3.ID); err != ErrNoBlob {
			t.Fatalf("blob after delete: %v", err)
		}

		// Retention: an unused material is swept after it; a claimed one stays.
		m4, err := r.svc.Upload(ctx, zhang, "diagnosis", jpegOf(t, 8, 8))
		if err != nil {
			t.Fatal(err)
		}
		r.clock.add(49 * time.Hour)
		wantCode(t, r.svc.Claim(ctx, zhang, []string{m4.ID}, "app-3"), services.CodeMaterialNotFound)
		if n, err := r.svc.Sweep(ctx, 10); err != nil || n != 1 {
			t.Fatalf("sweep %d, %v", n, err)
		}
		if _, err := r.svc.Get(ctx, zhang, m.ID); err != nil {
			t.Fatalf("the claimed material was swept: %v", err)
		}
		if _, err := r.svc.Blobs.Get(ctx, m4.ID); err != ErrNoBlob {
			t.Fatalf("swept blob: %v", err)
		}

		// The trail names ids, never file names or content.
		joined := strings.Join(r.audit.lines(), "\n")
		for _, want := range []string{"material.upload s-zhang material:" + m.ID + " ok", "material.deliver s-zhang material:" + m.ID + " ok",
			"material.delete s-zhang material:" + m3.ID + " ok", "material.claim s-zhang material:" + m.ID + " ok",
			"material.expire s-zhang material:" + m4.ID + " ok", "read.material s-zhao self error", "material.upload s-zhang self error"} {
			if !strings.Contains(joined, want) {
				t.Errorf("audit lacks %q:\n%s", want, joined)
			}
		}
	})
}

// TestDeleteAndClaimAtOnce: a delete and a claim of the same material at
// the same moment never both win.
func TestDeleteAndClaimAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r := newRig(t, s)
		for range 5 {
			m, err := r.svc.Upload(ctx, zhang, "diagnosis", jpegOf(t, 8, 8))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var delErr, claimErr error
			wg.Add(2)
			go func() { defer wg.Done(); delErr = r.svc.Delete(ctx, zhang, m.ID) }()
			go func() { defer wg.Done(); claimErr = r.svc.Claim(ctx, zhang, []string{m.ID}, "app-x") }()
			wg.Wait()
			if (delErr == nil) == (claimErr == nil) {
				t.Fatalf("delete %v and claim %v", delErr, claimErr)
			}
		}
	})
}
