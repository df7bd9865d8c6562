package employer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"handheld/services"
)

const joinHeader = "name,id_number,base_fen,start_month\n"

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func xlsxOf(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func codeOf(err error) services.Code {
	var e *services.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestParseSheetReadsEveryEncodingAndFormat(t *testing.T) {
	id := idNumber(t, "11010519900307123")
	want := []sheetRow{{Line: 2, Cells: []string{"王芳", id, "500000", "2026-11"}}}
	utf := joinHeader + "王芳," + id + ",500000,2026-11\n"
	zhHeader := "姓名,身份证号,缴存基数（分）,起缴月份\r\n王芳," + id + ",500000,2026-11\r\n"
	reordered := "start_month,base_fen,NAME,id_number\n2026-11,500000,王芳," + id + "\n"
	cases := []struct {
		name string
		data []byte
	}{
		{"utf-8", []byte(utf)},
		{"utf-8 with BOM", append([]byte("\xEF\xBB\xBF"), utf...)},
		{"gbk", gbk(t, utf)},
		{"gbk with Chinese header and CRLF", gbk(t, zhHeader)},
		{"columns in another order", []byte(reordered)},
		{"blank lines skipped", []byte(joinHeader + ",,,\n王芳," + id + ",500000,2026-11\n\n")},
		{"xlsx", xlsxOf(t, [][]any{{"name", "id_number", "base_fen", "start_month"}, {"王芳", id, 500000, "2026-11"}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			format, err := FormatOf(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseSheet(tc.data, format, JobJoin, 10)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "blank lines skipped" {
				want := []sheetRow{{Line: 3, Cells: want[0].Cells}}
				if d := cmp.Diff(want, got, cmp.AllowUnexported(sheetRow{})); d != "" {
					t.Fatal(d)
				}
				return
			}
			if d := cmp.Diff(want, got, cmp.AllowUnexported(sheetRow{})); d != "" {
				t.Fatal(d)
			}
		})
	}
}

func TestParseSheetRefusesBadFiles(t *testing.T) {
	id := idNumber(t, "11010519900307123")
	line := "王芳," + id + ",500000,2026-11\n"
	cases := []struct {
		name string
		data []byte
		want services.Code
	}{
		{"neither UTF-8 nor GB18030", []byte(joinHeader + "\x81\x20bad\xff\n"), services.CodeJobFileEncoding},
		{"BOM then not UTF-8", append([]byte("\xEF\xBB\xBF"+joinHeader), 0xC3, 0x28), services.CodeJobFileEncoding},
		{"UTF-16", []byte("\xFF\xFEn\x00a\x00"), services.CodeJobFileEncoding},
		{"binary", []byte("GIF89a\x00\x01\x02"), services.CodeJobFileType},
		{"pdf", []byte("%PDF-1.7\n"), services.CodeJobFileType},
		{"zip that is no workbook", []byte("PK\x03\x04garbage"), services.CodeJobFileMalformed},
		{"bare quote", []byte(joinHeader + "\"王芳,x" + id + "\",5\"00000,2026-11\n"), services.CodeJobFileMalformed},
		{"missing column", []byte("name,id_number,base_fen\n王芳," + id + ",500000\n"), services.CodeJobBadHeader},
		{"unknown column", []byte("name,id_number,base_fen,start_month,phone\n" + line), services.CodeJobBadHeader},
		{"repeated column", []byte("name,name,id_number,base_fen,start_month\n" + line), services.CodeJobBadHeader},
		{"header only", []byte(joinHeader), services.CodeJobEmpty},
		{"nothing", []byte(""), services.CodeJobEmpty},
		{"one row too many", []byte(joinHeader + strings.Repeat(line, 4)), services.CodeJobTooManyRows},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			format, err := FormatOf(tc.data)
			if err == nil {
				_, err = parseSheet(tc.data, format, JobJoin, 3)
			}
			if got := codeOf(err); got != tc.want {
				t.Fatalf("got %v (%v), want %s", got, err, tc.want)
			}
		})
	}
	// Exactly the limit is accepted.
	if rows, err := parseSheet([]byte(joinHeader+strings.Repeat(line, 3)), FormatCSV, JobJoin, 3); err != nil || len(rows) != 3 {
		t.Fatalf("3 rows at a limit of 3: %d %v", len(rows), err)
	}
}

func TestParseSheetRefusesTenThousandAndOneRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("staff_id,base_fen\n")
	for i := range 10_001 {
		fmt.Fprintf(&b, "P%09d,500000\n", i)
	}
	_, err := parseSheet([]byte(b.String()), FormatCSV, JobBase, DefaultJobPolicy().MaxRows)
	var e *services.Error
	if !errors.As(err, &e) || e.Code != services.CodeJobTooManyRows || e.Params["max"] != 10_000 {
		t.Fatalf("10,001 rows: %v", err)
	}
	if e.Code.Status() != 413 {
		t.Fatalf("status %d", e.Code.Status())
	}
}

func TestCheckLinesNamesLineColumnAndCode(t *testing.T) {
	good := idNumber(t, "11010519900307123")
	other := idNumber(t, "33010619850312413")
	badDigit := good[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good[17])+1)%11])
	csv := joinHeader +
		"王芳," + good + ",500000,2026-11\n" + // 2: good
		"李四," + badDigit + ",500000,2026-11\n" + // 3: check digit
		"\"=HYPERLINK(\"\"http://x\"\")\"," + other + ",500000,2026-11\n" + // 4: formula
		"张三," + other + ",5千,2026-13\n" + // 5: not a number, bad month
		"王芳," + good + ",600000,2026-12\n" + // 6: the person of line 2 again
		"@SUM(A1),\t" + other + ",-1,2026-11\n" // 7: formula in two cells
	rows, err := parseSheet([]byte(csv), FormatCSV, JobJoin, 100)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Line   int
		Column string
		Code   string
	}
	var all []got
	for _, l := range checkLines(JobJoin, rows, now) {
		for _, e := range l.errs {
			all = append(all, got{l.Line, e.Column, e.Code})
		}
	}
	want := []got{
		{3, "id_number", services.FieldChecksum},
		{4, "name", services.FieldFormula},
		{5, "base_fen", services.FieldNotNumber},
		{5, "start_month", services.FieldFormat},
		{6, "id_number", services.FieldDuplicate},
		{7, "name", services.FieldFormula},
		{7, "id_number", services.FieldFormula},
		{7, "base_fen", services.FieldFormula},
	}
	if d := cmp.Diff(want, all); d != "" {
		t.Fatalf("errors (-want +got):\n%s", d)
	}
}

func TestCheckLinesOfLeavesRejoinsAndBases(t *testing.T) {
	cases := []struct {
		kind, csv string
		want      [][2]string // column, code of line 2
	}{
		{JobLeave, "staff_id,month,reason\nP1,2026-11,resigned\n", nil},
		{JobLeave, "staff_id,month,reason\nP/1,2026-11,bored\n", [][2]string{{"staff_id", "format"}, {"reason", "one_of"}}},
		{JobRejoin, "staff_id,base_fen\nP1,\n", nil},
		{JobRejoin, "staff_id,base_fen\nP1,-5\n", [][2]string{{"base_fen", "formula"}}},
		{JobBase, "staff_id,base_fen\nP1,0\n", [][2]string{{"base_fen", "out_of_range"}}},
		{JobBase, "个人账号,缴存基数（分）\nP1,500000\n", nil},
	}
	for _, tc := range cases {
		rows, err := parseSheet([]byte(tc.csv), FormatCSV, tc.kind, 10)
		if err != nil {
			t.Fatalf("%s %q: %v", tc.kind, tc.csv, err)
		}
		var got [][2]string
		for _, e := range checkLines(tc.kind, rows, now)[0].errs {
			got = append(got, [2]string{e.Column, e.Code})
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s %q (-want +got):\n%s", tc.kind, tc.csv, d)
		}
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+86": "'+86", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"王芳": "王芳", "": "", "a=b": "a=b",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplatesParseAsTheirKind(t *testing.T) {
	for _, kind := range JobKinds() {
		for _, format := range []string{FormatCSV, FormatXLSX} {
			for _, zh := range []bool{false, true} {
				b, err := Template(kind, format, zh)
				if err != nil {
					t.Fatal(err)
				}
				got, err := FormatOf(b)
				if err != nil || got != format {
					t.Fatalf("%s.%s: format %q %v", kind, format, got, err)
				}
				// A template has a header and no line: empty until filled in.
				if _, err := parseSheet(b, format, kind, 10); codeOf(err) != services.CodeJobEmpty {
					t.Fatalf("%s.%s zh=%v: %v", kind, format, zh, err)
				}
			}
		}
	}
	if _, err := Template("transfer", FormatCSV, false); codeOf(err) != services.CodeJobNotFound {
		t.Fatalf("unknown kind: %v", err)
	}
}
