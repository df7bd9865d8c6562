package services

import (
	"errors"
	"testing"
	"time"
)

// The valid vectors' check characters were computed independently of this
// package (by hand and with a separate script); 11010519491231002X and
// 91350100M000100Y43 are the examples printed in public references.

func TestIDCheckDigit(t *testing.T) {
	tests := []struct {
		first17 string
		want    byte
		ok      bool
	}{
		{"11010519491231002", 'X', true},
		{"33010619850312461", '9', true},
		{"44030419900101123", '3', true},
		{"32010219780815002", '3', true},
		{"62010219960101000", '7', true},
		{"1101051949123100", 0, false},   // 16 characters
		{"110105194912310021", 0, false}, // 18 characters
		{"1101051949123100A", 0, false},  // a letter
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := IDCheckDigit(tt.first17)
		if got != tt.want || ok != tt.ok {
			t.Errorf("IDCheckDigit(%q) = %q, %v; want %q, %v", tt.first17, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidateIDNumber(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		in    string
		want  error
		field string
	}{
		{"public test vector with X", "11010519491231002X", nil, ""},
		{"Hangzhou Xihu", "330106198503124619", nil, ""},
		{"Shenzhen Futian", "440304199001011233", nil, ""},
		{"Nanjing Xuanwu, female", "320102197808150023", nil, ""},
		{"leap day", "510104200002290038", nil, ""},
		{"born today in Shanghai time", bornOn("33010620261124001"), nil, ""},
		{"empty", "", ErrIDLength, FieldFormat},
		{"15-digit old format", "110105491231002", ErrIDLength, FieldFormat},
		{"19 characters", "11010519491231002X1", ErrIDLength, FieldFormat},
		{"lower-case x", "11010519491231002x", ErrIDFormat, FieldFormat},
		{"letter inside", "1101051949123100AX", ErrIDFormat, FieldFormat},
		{"full-width digit", "11010519491231002Ｘ"[:18], ErrIDFormat, FieldFormat},
		{"region starts with 0", bornOn("01010519491231002"), ErrIDRegion, FieldFormat},
		{"month 13", bornOn("11010519491331002"), ErrIDBirthDate, FieldFormat},
		{"30 February", bornOn("11010519490230002"), ErrIDBirthDate, FieldFormat},
		{"29 February in a common year", bornOn("11010519490229002"), ErrIDBirthDate, FieldFormat},
		{"before 1900", bornOn("11010518991231002"), ErrIDBirthDate, FieldFormat},
		{"born tomorrow", bornOn("11010520261125002"), ErrIDBirthDate, FieldFormat},
		{"wrong check digit", "110105194912310021", ErrIDChecksum, FieldChecksum},
		{"X where a digit belongs", "33010619850312461X", ErrIDChecksum, FieldChecksum},
		{"two digits swapped", "11010519491231020X", ErrIDChecksum, FieldChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateIDNumber(tt.in, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ValidateIDNumber(%q) = %v, want %v", tt.in, err, tt.want)
			}
			if got := FieldCode(err); got != tt.field {
				t.Errorf("FieldCode(%v) = %q, want %q", err, got, tt.field)
			}
		})
	}
}

// bornOn completes 17 characters with their correct check digit, so a case
// fails on the rule it names and not on the checksum.
func bornOn(first17 string) string {
	c, ok := IDCheckDigit(first17)
	if !ok {
		panic("bornOn: not 17 digits: " + first17)
	}
	return first17 + string(c)
}

func TestIDBirthDateUsesShanghaiDay(t *testing.T) {
	// 2026-11-24 17:00 UTC is already 25 November in Shanghai.
	now := time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC)
	if err := ValidateIDNumber(bornOn("33010620261125001"), now); err != nil {
		t.Errorf("born on the Shanghai date of now: %v", err)
	}
	if err := ValidateIDNumber(bornOn("33010620261126001"), now); !errors.Is(err, ErrIDBirthDate) {
		t.Errorf("born the day after: got %v, want ErrIDBirthDate", err)
	}
}

func TestUnitCheckChar(t *testing.T) {
	tests := []struct {
		first17 string
		want    byte
		ok      bool
	}{
		{"91350100M000100Y4", '3', true},
		{"91330106MA27Y8K3X", 'C', true},
		{"12330000470050736", '9', true},
		{"91110000600037341", 'L', true},
		{"52330106MJ0000001", 'P', true},
		{"91330108704212345", '5', true},
		{"91350100M000100I4", 0, false}, // I is not in the alphabet
		{"91350100m000100Y4", 0, false}, // lower case
		{"91350100M000100Y", 0, false},
	}
	for _, tt := range tests {
		got, ok := UnitCheckChar(tt.first17)
		if got != tt.want || ok != tt.ok {
			t.Errorf("UnitCheckChar(%q) = %q, %v; want %q, %v", tt.first17, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidateUnitCode(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  error
		field string
	}{
		{"public example", "91350100M000100Y43", nil, ""},
		{"check character 0 branch", zeroCheckUnitCode(t), nil, ""},
		{"letter check", "91330106MA27Y8K3XC", nil, ""},
		{"institution", "123300004700507369", nil, ""},
		{"social organisation", "52330106MJ0000001P", nil, ""},
		{"empty", "", ErrUnitLength, FieldFormat},
		{"17 characters", "91350100M000100Y4", ErrUnitLength, FieldFormat},
		{"organisation code only", "M000100Y4", ErrUnitLength, FieldFormat},
		{"forbidden letter O", "91350100O000100Y43", ErrUnitFormat, FieldFormat},
		{"forbidden check letter Z", "91350100M000100Y4Z", ErrUnitFormat, FieldFormat},
		{"lower case", "91350100m000100y43", ErrUnitFormat, FieldFormat},
		{"wrong check character", "91350100M000100Y44", ErrUnitChecksum, FieldChecksum},
		{"two characters swapped", "91350100M000100Y34", ErrUnitChecksum, FieldChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateUnitCode(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("ValidateUnitCode(%q) = %v, want %v", tt.in, err, tt.want)
			}
			if got := FieldCode(err); got != tt.field {
				t.Errorf("FieldCode(%v) = %q, want %q", err, got, tt.field)
			}
		})
	}
}

// zeroCheckUnitCode finds a code whose weighted sum is a multiple of 31, the
// case where 31 - 0 must wrap to '0'.
func zeroCheckUnitCode(t *testing.T) string {
	for i := range 1000 {
		first17 := "9133010600000" + string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)) + "1"
		if c, _ := UnitCheckChar(first17); c == '0' {
			return first17 + "0"
		}
	}
	t.Fatal("no code with check character 0 among 1000 candidates")
	return ""
}

func TestIDErrorsSayWhichRuleWithoutTheInput(t *testing.T) {
	err := ValidateIDNumber("110105194912310021", time.Now())
	if got, want := err.Error(), "id number: check digit mismatch"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrIDChecksumRule) || errors.Is(err, ErrIDFormatRule) {
		t.Errorf("checksum error must wrap ErrIDChecksumRule only: %v", err)
	}
}
