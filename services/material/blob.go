package material

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Blobs keeps the materials' bytes by key. It is declared here, by its
// consumer, so that the store behind it (files on the embedded profile,
// S3-compatible object storage in production) is a wiring choice. What it
// is handed is already sealed (services/seal, bound to the material's id):
// no adapter ever sees a plain document.
type Blobs interface {
	// Put stores data under key, replacing any earlier value.
	Put(ctx context.Context, key string, data []byte) error
	// Get reads key's data; ErrNoBlob when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; a key that is not there is no error.
	Delete(ctx context.Context, key string) error
}

// ErrNoBlob is what Get reports for a key that holds nothing.
var ErrNoBlob = errors.New("material: no such blob")

// keyShape is what a blob key looks like: a material id. Nothing else,
// so a key can never walk out of its directory or bucket prefix.
var keyShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

func checkKey(key string) error {
	if !keyShape.MatchString(key) {
		return fmt.Errorf("material: blob key %q is not a material id", key)
	}
	return nil
}

// FileBlobs keeps each blob in a file of its own under Dir (0600 files in
// a 0700 directory), written to a temporary file and renamed, so a crash
// leaves either the old blob or the new one, never half of one.
type FileBlobs struct{ Dir string }

// NewFileBlobs makes the directory if it is missing.
func NewFileBlobs(dir string) (*FileBlobs, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("material: blob directory: %w", err)
	}
	return &FileBlobs{Dir: dir}, nil
}

func (f *FileBlobs) path(key string) string { return filepath.Join(f.Dir, key[:2], key+".blob") }

// Put writes the blob.
func (f *FileBlobs) Put(_ context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := f.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("material: blob directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), key+".*.tmp")
	if err != nil {
		return fmt.Errorf("material: blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("material: blob: %w", err)
	}
	return nil
}

// Get reads the blob.
func (f *FileBlobs) Get(_ context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(f.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoBlob
	}
	if err != nil {
		return nil, fmt.Errorf("material: blob: %w", err)
	}
	return b, nil
}

// Delete removes the blob.
func (f *FileBlobs) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := os.Remove(f.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("material: blob: %w", err)
	}
	return nil
}

// S3Config reaches an S3-compatible object store (materials.s3 in the
// configuration; the keys come from the environment, never a file).
type S3Config struct {
	// Endpoint is host[:port], without a scheme.
	Endpoint string `yaml:"endpoint"`
	Bucket   string `yaml:"bucket"`
	Region   string `yaml:"region"`
	// Prefix is prepended to every key ("materials/" by default), so the
	// bucket can be shared with other data.
	Prefix string `yaml:"prefix"`
	// Insecure speaks plain HTTP (a store on the same host or a test).
	Insecure bool `yaml:"insecure"`
	// PathStyle addresses the bucket in the path rather than the host
	// name (MinIO, SeaweedFS and most on-premises stores).
	PathStyle bool `yaml:"path_style"`
	// AccessKey and SecretKey: HANDHELD_MATERIALS_S3_ACCESS_KEY and
	// HANDHELD_MATERIALS_S3_SECRET_KEY. Never logged.
	AccessKey string `yaml:"-"`
	SecretKey string `yaml:"-"`
}

// String names the store without its keys, for logs and errors.
func (c S3Config) String() string {
	return fmt.Sprintf("s3 %s/%s (region %q, prefix %q)", c.Endpoint, c.Bucket, c.Region, c.Prefix)
}

// S3Blobs keeps blobs as objects of one bucket, through minio-go (a
// maintained client that speaks to AWS S3, MinIO, Ceph RGW, SeaweedFS
// and the cloud vendors' S3-compatible services alike).
type S3Blobs struct {
	client *minio.Client
	bucket string
	prefix string
}

// NewS3Blobs builds the client. It does not call the store: readiness is
// the first Put.
func NewS3Blobs(c S3Config) (*S3Blobs, error) {
	if c.Endpoint == "" || c.Bucket == "" {
		return nil, errors.New("material: s3 needs an endpoint and a bucket")
	}
	lookup := minio.BucketLookupAuto
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(c.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:       !c.Insecure,
		Region:       c.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("material: %s: %w", c, err)
	}
	return &S3Blobs{client: client, bucket: c.Bucket, prefix: c.Prefix}, nil
}

// Put uploads the object in one request (blobs are at most a few MiB).
func (s *S3Blobs) Put(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	if err != nil {
		return fmt.Errorf("material: s3 put: %w", err)
	}
	return nil
}

// Get downloads the object.
func (s *S3Blobs) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("material: s3 get: %w", err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		if r := minio.ToErrorResponse(err); r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound {
			return nil, ErrNoBlob
		}
		return nil, fmt.Errorf("material: s3 get: %w", err)
	}
	return b, nil
}

// Delete removes the object (S3 answers a missing key with success).
func (s *S3Blobs) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("material: s3 delete: %w", err)
	}
	return nil
}

// EnsureBucket makes the bucket when it is missing (tests, first start).
func (s *S3Blobs) EnsureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("material: s3 bucket: %w", err)
	}
	if ok {
		return nil
	}
	if err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region}); err != nil {
		return fmt.Errorf("material: s3 bucket: %w", err)
	}
	return nil
}
