package mask_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"handheld/services/mask"
)

// everywhere is a policy giving one level to every field on every channel.
func everywhere(l mask.Level) mask.Policy {
	p := mask.Policy{}
	for _, f := range mask.Fields() {
		p[f] = map[string]mask.Level{}
		for _, c := range mask.Channels() {
			p[f][c] = l
		}
	}
	return p
}

func TestApply(t *testing.T) {
	masked, partial, full := everywhere(mask.Mask), everywhere(mask.Partial), everywhere(mask.Full)
	cases := []struct {
		field, value       string
		mask, partial, raw string
	}{
		// Names: surname kept, compound surnames whole, runes not bytes.
		{mask.Name, "张伟", "张*", "张*", "张伟"},
		{mask.Name, "张三丰", "张**", "张*丰", "张三丰"},
		{mask.Name, "欧阳晓峰", "欧阳**", "欧阳*峰", "欧阳晓峰"},
		{mask.Name, "欧阳锋", "欧阳*", "欧阳*", "欧阳锋"},
		{mask.Name, "司马相如", "司马**", "司马*如", "司马相如"},
		{mask.Name, "歐陽修", "歐陽*", "歐陽*", "歐陽修"},
		{mask.Name, "欧阳", "欧*", "欧*", "欧阳"}, // two characters: the surname is one of them
		{mask.Name, "张", "*", "*", "张"},
		// Rare characters outside the BMP (CJK Extension B, four bytes in
		// UTF-8) are one character each, kept or hidden whole.
		{mask.Name, "林晓𪚥", "林**", "林*𪚥", "林晓𪚥"},
		{mask.Name, "𠮷田", "𠮷*", "𠮷*", "𠮷田"},
		{mask.Name, "𡈽𪚥", "𡈽*", "𡈽*", "𡈽𪚥"},
		{mask.Name, "𠮷", "*", "*", "𠮷"},
		{mask.Name, "", "", "", ""},
		{mask.Name, "  李娜 ", "李*", "李*", "  李娜 "},
		{mask.Name, "买买提·艾力", "买**·**", "买**·*力", "买买提·艾力"},
		{mask.Name, "John Smith", "J*** *****", "J*** ****h", "John Smith"},
		{mask.Name, "𠀋𠀌𠀍", "𠀋**", "𠀋*𠀍", "𠀋𠀌𠀍"}, // outside the BMP
		// ID numbers: first 3 and last 4; partial keeps the region code.
		{mask.IDNumber, "110101199003071234", "110***********1234", "110101********1234", "110101199003071234"},
		{mask.IDNumber, "33010619850312413X", "330***********413X", "330106********413X", "33010619850312413X"},
		{mask.IDNumber, "110101900307123", "110********7123", "110101*****7123", "110101900307123"}, // 15-digit, pre-1999
		{mask.IDNumber, "1234567", "1**4567", "1**4567", "1234567"},                                 // odd input: a quarter stays hidden
		{mask.IDNumber, "12345678", "12**5678", "12**5678", "12345678"},
		{mask.IDNumber, "X", "*", "*", "X"},
		{mask.IDNumber, "", "", "", ""},
		// Phones: 138****5678 whatever the spacing or prefix; partial is no lighter.
		{mask.Phone, "13812345678", "138****5678", "138****5678", "13812345678"},
		{mask.Phone, "138 1234 5678", "138****5678", "138****5678", "138 1234 5678"},
		{mask.Phone, "+86 138-1234-5678", "138****5678", "138****5678", "+86 138-1234-5678"},
		{mask.Phone, "008613812345678", "138****5678", "138****5678", "008613812345678"},
		{mask.Phone, "0571-8888", "05**8888", "05**8888", "0571-8888"},
		{mask.Phone, "", "", "", ""},
		// e-CNY wallet ids: the card's shape; the first four name the operator.
		{mask.ECNYWallet, "0021100056734812", "0021 **** **** 4812", "0021 10** **** 4812", "0021100056734812"},
		{mask.ECNYWallet, "0021 1000 5673 4812", "0021 **** **** 4812", "0021 10** **** 4812", "0021 1000 5673 4812"},
		// Bank cards: the same shape whatever the length.
		{mask.BankCard, "6222021202005128745", "6222 **** **** 8745", "6222 02** **** 8745", "6222021202005128745"},
		{mask.BankCard, "6222 0212 3456 1234", "6222 **** **** 1234", "6222 02** **** 1234", "6222 0212 3456 1234"},
		{mask.BankCard, "62220212345", "6222 **** **** 2345", "6222 **** **** 2345", "62220212345"},
		{mask.BankCard, "622202123", "62***2123", "62***2123", "622202123"}, // too short for the card shape
		{mask.BankCard, "62220212", "62**0212", "62**0212", "62220212"},
		{mask.BankCard, "", "", "", ""},
		// Account numbers: first 4 and last 4; partial six.
		{mask.AccountNumber, "330101000101", "3301****0101", "33010***0101", "330101000101"},
		{mask.AccountNumber, "3301010000001234", "3301********1234", "330101******1234", "3301010000001234"},
		{mask.AccountNumber, "12345678", "12**5678", "12**5678", "12345678"},
		{mask.AccountNumber, "", "", "", ""},
		// Unit names: two characters at each end (four in front with partial).
		{mask.UnitName, "杭州西溪阿芳面馆", "杭州****面馆", "杭州西溪**面馆", "杭州西溪阿芳面馆"},
		{mask.UnitName, "杭州云栖数据科技有限公司", "杭州********公司", "杭州云栖******公司", "杭州云栖数据科技有限公司"},
		{mask.UnitName, "", "", "", ""},
		// Unified social credit codes: registration kind and province, and
		// the last four; partial keeps the county too.
		{mask.UnitCode, "92330106L8XQ2M4N0N", "9233**********4N0N", "92330106******4N0N", "92330106L8XQ2M4N0N"},
		{mask.UnitCode, "", "", "", ""},
	}
	for _, tc := range cases {
		for _, ch := range mask.Channels() {
			got := []string{masked.Apply(tc.field, ch, tc.value), partial.Apply(tc.field, ch, tc.value), full.Apply(tc.field, ch, tc.value)}
			if diff := cmp.Diff([]string{tc.mask, tc.partial, tc.raw}, got); diff != "" {
				t.Errorf("%s %q on %s (mask, partial, full) -want +got:\n%s", tc.field, tc.value, ch, diff)
			}
		}
	}
}

// Masking and partial masking never hand back a non-empty value whole.
func TestNeverWhole(t *testing.T) {
	values := []string{"a", "ab", "abc", "张", "张伟", "1234", "12345678", "123456789", "13812345678", "6222021202005128745", "😀😀"}
	for _, p := range []mask.Policy{everywhere(mask.Mask), everywhere(mask.Partial)} {
		for _, f := range mask.Fields() {
			for _, v := range values {
				if got := p.Apply(f, mask.MiniApp, v); got == v {
					t.Errorf("%s %q on %s came back whole", f, v, p.Level(f, mask.MiniApp))
				}
			}
		}
	}
}

// What the policy does not know, it masks.
func TestFailsClosed(t *testing.T) {
	p := mask.DefaultPolicy()
	if got := p.Apply(mask.Name, "desktop", "张伟"); got != "张*" {
		t.Errorf("unknown channel: %q", got)
	}
	if got := p.Apply("passport", mask.MiniApp, "E12345678"); got != "*********" {
		t.Errorf("unknown field: %q", got)
	}
	if got := (mask.Policy{mask.Name: {mask.MiniApp: "show"}}).Apply(mask.Name, mask.MiniApp, "张伟"); got != "张*" {
		t.Errorf("unknown level: %q", got)
	}
	if got := (mask.Policy(nil)).Apply(mask.Phone, mask.Kiosk, "13812345678"); got != "138****5678" {
		t.Errorf("nil policy: %q", got)
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := mask.DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, f := range mask.Fields() {
		for _, c := range mask.Channels() {
			want := mask.Mask
			if f == mask.AccountNumber && c == mask.Kiosk {
				want = mask.Partial
			}
			if got := p.Level(f, c); got != want {
				t.Errorf("%s on %s: %s, want %s", f, c, got, want)
			}
		}
	}
	// Every call is a fresh map: changing one changes no other.
	p[mask.Name][mask.MiniApp] = mask.Full
	if mask.DefaultPolicy().Level(mask.Name, mask.MiniApp) != mask.Mask {
		t.Fatal("DefaultPolicy shares its maps")
	}
}

// A centre's YAML overlays the default; typos fail start-up by name.
func TestPolicyFromYAML(t *testing.T) {
	var cfg struct {
		Masking mask.Policy `yaml:"masking"`
	}
	raw := "masking:\n  name:\n    kiosk: partial\n  bank_card:\n    app: full\n"
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	p := mask.DefaultPolicy().Overlay(cfg.Masking)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	got := []mask.Level{p.Level(mask.Name, mask.Kiosk), p.Level(mask.Name, mask.MiniApp), p.Level(mask.BankCard, mask.App), p.Level(mask.AccountNumber, mask.Kiosk)}
	if diff := cmp.Diff([]mask.Level{mask.Partial, mask.Mask, mask.Full, mask.Partial}, got); diff != "" {
		t.Errorf("overlay -want +got:\n%s", diff)
	}
	if cfg.Masking.Level(mask.Name, mask.MiniApp) != mask.Mask {
		t.Error("Overlay changed its argument")
	}

	if err := yaml.Unmarshal([]byte("masking:\n  name:\n    kiosk: ful\n"), &cfg); err == nil || !strings.Contains(err.Error(), `"ful"`) {
		t.Errorf("bad level: %v", err)
	}
	bad := mask.Policy{"passport": {mask.Kiosk: mask.Full}, mask.Phone: {"desktop": mask.Full, mask.App: "show"}}
	err := bad.Validate()
	for _, want := range []string{`field "passport"`, `channel "desktop"`, `phone.app: unknown level "show"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to name %s", err, want)
		}
	}
}
