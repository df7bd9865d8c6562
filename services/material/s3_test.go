package material

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"handheld/services/store/storetest"
)

// s3Server starts an S3-compatible server for the test: gofakes3 (a Go
// implementation of the S3 REST API, from the module proxy) on a real
// loopback port, spoken to over HTTP with SigV4 by minio-go exactly as a
// production store would be. A MinIO server build is not used: see
// docs/operations.md § Object storage.
func s3Server(t testing.TB) S3Config {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return S3Config{Endpoint: u.Host, Bucket: "handheld-materials", Region: "cn-east-1", Prefix: "materials/",
		Insecure: true, PathStyle: true, AccessKey: "test-access", SecretKey: "test-secret-not-logged"}
}

func newS3(t testing.TB) (*S3Blobs, S3Config) {
	cfg := s3Server(t)
	b, err := NewS3Blobs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureBucket(context.Background(), cfg.Region); err != nil {
		t.Fatal(err)
	}
	return b, cfg
}

// TestS3Blobs: the adapter's contract against the server.
func TestS3Blobs(t *testing.T) {
	ctx := context.Background()
	b, cfg := newS3(t)
	key := strings.Repeat("ab", 16)
	if _, err := b.Get(ctx, key); err != ErrNoBlob {
		t.Fatalf("missing key: %v", err)
	}
	if err := b.Put(ctx, key, []byte("sealed bytes")); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, key)
	if err != nil || string(got) != "sealed bytes" {
		t.Fatalf("get %q, %v", got, err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := b.Get(ctx, key); err != ErrNoBlob {
		t.Fatalf("after delete: %v", err)
	}
	for _, bad := range []string{"../x", "", "AB" + key[2:], key + "/x"} {
		if b.Put(ctx, bad, nil) == nil {
			t.Fatalf("key %q accepted", bad)
		}
	}
	if strings.Contains(cfg.String(), cfg.SecretKey) || strings.Contains(cfg.String(), cfg.AccessKey) {
		t.Fatal("the store's description names its keys")
	}
}

// TestS3HoldsCiphertextOnly: through the service, the object the store
// holds is sealed; read back, it is the clean image.
func TestS3HoldsCiphertextOnly(t *testing.T) {
	ctx := context.Background()
	b, cfg := newS3(t)
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	svc, err := New(Deps{Store: s, Blobs: b, Audit: &fakeAudit{}, Policy: DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.Upload(ctx, zhang, "diagnosis", withGPS(jpegOf(t, 64, 48)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: false, Region: cfg.Region,
		BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := raw.GetObject(ctx, cfg.Bucket, cfg.Prefix+m.ID, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := svc.Open(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, plain[:32]) || bytes.Contains(stored, []byte("JFIF")) || bytes.Contains(stored, []byte(gpsMarker)) {
		t.Fatal("the object store holds plaintext")
	}
	if err := svc.Delete(ctx, zhang, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, m.ID); err != ErrNoBlob {
		t.Fatalf("object after delete: %v", err)
	}
}
