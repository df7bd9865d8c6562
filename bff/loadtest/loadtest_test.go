package loadtest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"handheld/bff/loadtest"
)

func TestValidate(t *testing.T) {
	ok := loadtest.Options{Concurrency: 1, Duration: time.Second}
	for _, tc := range []struct {
		name string
		edit func(*loadtest.Options)
		want string // in the error; "" for none
	}{
		{"every scenario", func(*loadtest.Options) {}, ""},
		{"named scenarios", func(o *loadtest.Options) { o.Only = []string{"burst", "ratelimit"} }, ""},
		{"misspelt scenario", func(o *loadtest.Options) { o.Only = []string{"burst", "acount"} }, `no scenario named "acount"`},
		{"no clients", func(o *loadtest.Options) { o.Concurrency = 0 }, "concurrency 0"},
		{"no time", func(o *loadtest.Options) { o.Duration = 0 }, "duration 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
			if tc.want != "" {
				if err := loadtest.Run(context.Background(), o, &bytes.Buffer{}); err == nil {
					t.Fatal("Run started with options Validate refuses")
				}
			}
		})
	}
}
