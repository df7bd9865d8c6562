package staffsite

import "testing"

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1+2":                     "'+1+2",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"  =1+1":                   "'  =1+1",
		"\t=1":                     "'\t=1",
		"-12":                      "-12",
		"97.5%":                    "97.5%",
		"≤250":                     "≤250",
		"提取":                       "提取",
		"":                         "",
		"POST /api/v1/auth/wechat": "POST /api/v1/auth/wechat",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChartsScale(t *testing.T) {
	if scale(0, 10, 100) != 0 || scale(10, 10, 100) != 100 || scale(1, 1000, 100) != 1 || scale(5, 0, 100) != 0 {
		t.Error("scale")
	}
	ts := ticks(8, 160)
	if len(ts) != 5 || ts[0].Label != "0" || ts[4].Label != "8" || ts[4].Y != chartTop {
		t.Errorf("ticks %+v", ts)
	}
}
