package services

import (
	"math"
	"testing"
)

func TestYuan(t *testing.T) {
	cases := []struct {
		fen  int64
		sep  string
		want string
	}{
		{0, ",", "0.00"},
		{5, ",", "0.05"},
		{99, ",", "0.99"},
		{100, ",", "1.00"},
		{150_000, ",", "1,500.00"},
		{12_345_678, ",", "123,456.78"},
		{100_000_000_01, ",", "100,000,000.01"},
		{-1_234_56, ",", "-1,234.56"},
		{450_000, "", "4500.00"},
		{-150, "", "-1.50"},
		{math.MaxInt64, ",", "92,233,720,368,547,758.07"},
		{math.MinInt64, ",", "-92,233,720,368,547,758.08"},
	}
	for _, tc := range cases {
		if got := Yuan(tc.fen, tc.sep); got != tc.want {
			t.Errorf("Yuan(%d, %q) = %q, want %q", tc.fen, tc.sep, got, tc.want)
		}
	}
}
