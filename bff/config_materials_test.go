package bff

import (
	"strings"
	"testing"
)

// TestMaterialsStoreConfig: the s3 store needs its endpoint, bucket and
// keys; its keys never show in the start-up dump; an unknown store stops
// start-up; the upload route's body limit follows materials.max_bytes.
func TestMaterialsStoreConfig(t *testing.T) {
	cfg := Defaults()
	cfg.MaterialsStore = "s3"
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "HANDHELD_MATERIALS_S3_ENDPOINT") || !strings.Contains(err.Error(), "HANDHELD_MATERIALS_S3_ACCESS_KEY") {
		t.Fatalf("s3 without settings: %v", err)
	}
	cfg.MaterialsS3Endpoint, cfg.MaterialsS3Bucket = "oss.example.internal:9000", "materials"
	cfg.MaterialsS3AccessKey, cfg.MaterialsS3SecretKey = "AKIDEXAMPLE", "wJalrXUtnFEMI-secret"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for k, v := range cfg.Redacted() {
		if strings.Contains(v, "wJalrXUtnFEMI") || strings.Contains(v, "AKIDEXAMPLE") {
			t.Fatalf("%s shows a key: %s", k, v)
		}
	}
	cfg.MaterialsS3Endpoint = "https://oss.example.internal"
	if err := cfg.Validate(); err == nil {
		t.Fatal("an endpoint with a scheme was accepted")
	}
	cfg.MaterialsStore = "ftp"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "HANDHELD_MATERIALS_STORE") {
		t.Fatalf("unknown store: %v", err)
	}

	cfg = Defaults()
	cfg.Materials.MaxBytes = 12 << 20
	if got := cfg.uploads()["/api/v1/me/materials"]; got != 12<<20+BodyLimit {
		t.Fatalf("materials body limit %d", got)
	}
	if cfg.uploadLimit() < 12<<20+BodyLimit {
		t.Fatalf("server body limit %d below the materials route's", cfg.uploadLimit())
	}
}
