package employer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"handheld/services"
)

// A bulk file is a CSV or XLSX sheet whose first row names the columns of
// its kind (the key, or its Chinese label as the templates print it) and
// whose other rows are one change each. What is wrong with the file as a
// whole (its type, encoding, size, header) refuses the upload; what is
// wrong with a line is reported on that line and the others go ahead.

// Job kinds: what every line of a file asks for.
const (
	JobJoin   = "join"
	JobLeave  = "leave"
	JobRejoin = "rejoin"
	JobBase   = "base"
)

// JobKinds are the kinds a file may have.
func JobKinds() []string { return []string{JobJoin, JobLeave, JobRejoin, JobBase} }

// Column is one column of a kind's file: its key (also the field name the
// single call's validation reports) and the label the zh-CN template
// prints, both accepted as its header.
type Column struct {
	Key   string
	Label string
}

var jobColumns = map[string][]Column{
	JobJoin:   {{"name", "姓名"}, {"id_number", "身份证号"}, {"base_fen", "缴存基数（分）"}, {"start_month", "起缴月份"}},
	JobLeave:  {{"staff_id", "个人账号"}, {"month", "末次缴存月份"}, {"reason", "减员原因"}},
	JobRejoin: {{"staff_id", "个人账号"}, {"base_fen", "缴存基数（分）"}},
	JobBase:   {{"staff_id", "个人账号"}, {"base_fen", "缴存基数（分）"}},
}

// JobColumns are the columns of a kind's file, in template order; nil for
// an unknown kind.
func JobColumns(kind string) []Column { return jobColumns[kind] }

// File formats.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// sheetRow is one data line: its line number in the file (the header is
// line 1) and its cells, one per column of the kind, trimmed.
type sheetRow struct {
	Line  int
	Cells []string
}

// maxXLSXUnzipped bounds what an XLSX may inflate to: a zip bomb is
// refused, not unpacked.
const maxXLSXUnzipped = 64 << 20

// FormatOf tells a file's format from its content, never from its name
// alone: a zip (XLSX) or text (CSV); anything else is job.unsupported_file.
func FormatOf(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return FormatXLSX, nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return "", &services.Error{Code: services.CodeJobFileEncoding, Cause: errors.New("jobs: UTF-16 text")}
	case bytes.IndexByte(data, 0) >= 0, bytes.HasPrefix(data, []byte("%PDF")), bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		// NUL bytes, a PDF, an old binary .xls.
		return "", services.Errorf(services.CodeJobFileType, "jobs: binary content")
	}
	return FormatCSV, nil
}

// decodeText turns a CSV's bytes into UTF-8: UTF-8 with or without a BOM
// as it is, else GB18030 (a superset of GBK, what Excel saves CSV as on a
// Chinese Windows) when every byte decodes to a character; else
// job.bad_encoding.
func decodeText(data []byte) (string, error) {
	if b, ok := bytes.CutPrefix(data, []byte("\xEF\xBB\xBF")); ok {
		if !utf8.Valid(b) {
			return "", services.Errorf(services.CodeJobFileEncoding, "jobs: BOM but not UTF-8")
		}
		return string(b), nil
	}
	if utf8.Valid(data) {
		return string(data), nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) || !utf8.Valid(out) {
		return "", services.Errorf(services.CodeJobFileEncoding, "jobs: neither UTF-8 nor GB18030")
	}
	return string(out), nil
}

// parseSheet reads a file of kind: the header first (each of the kind's
// columns exactly once, in any order, nothing else), then at most maxRows
// data lines, blank ones skipped. Cells come back in the kind's column
// order, raw (formula prefixes kept, so that they can be refused).
func parseSheet(data []byte, format, kind string, maxRows int) ([]sheetRow, error) {
	cols := jobColumns[kind]
	var records func(yield func(line int, cells []string, err error) bool)
	switch format {
	case FormatXLSX:
		records = xlsxRecords(data)
	default:
		text, err := decodeText(data)
		if err != nil {
			return nil, err
		}
		records = csvRecords(text)
	}
	var (
		order []int // order[i]: the file's column of the kind's column i
		rows  []sheetRow
		err   error
	)
	records(func(line int, cells []string, rerr error) bool {
		if rerr != nil {
			err = rerr
			return false
		}
		if order == nil {
			order, err = headerOrder(cols, cells)
			return err == nil
		}
		if blank(cells) {
			return true
		}
		if len(rows) == maxRows {
			err = &services.Error{Code: services.CodeJobTooManyRows, Params: map[string]any{"max": maxRows}}
			return false
		}
		r := sheetRow{Line: line, Cells: make([]string, len(cols))}
		for i, at := range order {
			if at < len(cells) {
				r.Cells[i] = cells[at]
			}
		}
		rows = append(rows, r)
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case order == nil || len(rows) == 0:
		return nil, services.E(services.CodeJobEmpty)
	}
	return rows, nil
}

// headerOrder maps the kind's columns to the file's, refusing a header
// that lacks one, names one twice or adds another (job.bad_header, with
// the expected columns).
func headerOrder(cols []Column, header []string) ([]int, error) {
	order := make([]int, len(cols))
	for i := range order {
		order[i] = -1
	}
	bad := func(cause string) error {
		keys := make([]string, len(cols))
		for i, c := range cols {
			keys[i] = c.Key
		}
		return &services.Error{Code: services.CodeJobBadHeader, Params: map[string]any{"expected": strings.Join(keys, ", ")},
			Cause: errors.New("jobs: header: " + cause)}
	}
	for at, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if h == "" && at == len(header)-1 {
			continue // a trailing separator
		}
		found := -1
		for i, c := range cols {
			if strings.EqualFold(h, c.Key) || h == c.Label {
				found = i
			}
		}
		switch {
		case found < 0:
			return nil, bad(fmt.Sprintf("column %d unknown", at+1))
		case order[found] >= 0:
			return nil, bad(fmt.Sprintf("column %d repeated", at+1))
		}
		order[found] = at
	}
	for i, at := range order {
		if at < 0 {
			return nil, bad(cols[i].Key + " missing")
		}
	}
	return order, nil
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// csvRecords yields a CSV's records with the line each starts on; rows of
// any width (a short row's missing cells are empty), quotes as RFC 4180.
func csvRecords(text string) func(yield func(int, []string, error) bool) {
	return func(yield func(int, []string, error) bool) {
		r := csv.NewReader(strings.NewReader(text))
		r.FieldsPerRecord = -1
		r.ReuseRecord = false
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var pe *csv.ParseError
				line := 0
				if errors.As(err, &pe) {
					line = pe.StartLine
				}
				yield(0, nil, &services.Error{Code: services.CodeJobFileMalformed, Params: map[string]any{"line": line}, Cause: err})
				return
			}
			line, _ := r.FieldPos(0)
			if !yield(line, rec, nil) {
				return
			}
		}
	}
}

// xlsxRecords yields the first sheet's rows with their row numbers.
// Cells are read as displayed; an empty row in the middle keeps the
// numbering of the lines after it.
func xlsxRecords(data []byte) func(yield func(int, []string, error) bool) {
	return func(yield func(int, []string, error) bool) {
		malformed := func(err error) {
			yield(0, nil, &services.Error{Code: services.CodeJobFileMalformed, Params: map[string]any{"line": 0}, Cause: err})
		}
		f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxXLSXUnzipped, UnzipXMLSizeLimit: maxXLSXUnzipped})
		if err != nil {
			malformed(err)
			return
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			malformed(errors.New("jobs: no sheet"))
			return
		}
		rows, err := f.Rows(sheets[0])
		if err != nil {
			malformed(err)
			return
		}
		defer rows.Close()
		for line := 1; rows.Next(); line++ {
			cells, err := rows.Columns()
			if err != nil {
				malformed(err)
				return
			}
			if !yield(line, cells, nil) {
				return
			}
		}
		if err := rows.Error(); err != nil {
			malformed(err)
		}
	}
}

// formulaStart reports whether a cell begins as a spreadsheet formula does.
func formulaStart(cell string) bool {
	return cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0]))
}

// Neutralize makes a cell safe to open in a spreadsheet: one that begins
// as a formula does is prefixed with ', so it shows as text and never runs.
func Neutralize(cell string) string {
	if formulaStart(cell) {
		return "'" + cell
	}
	return cell
}

// Template is an empty file of kind to fill in: its header row, labelled
// in Chinese (zh) or with the column keys. An XLSX template formats every
// column as text, so that an 18-digit ID number or a staff id is not
// turned into a number and rounded. An unknown kind or format is
// job.not_found.
func Template(kind, format string, zh bool) ([]byte, error) {
	cols := jobColumns[kind]
	if cols == nil || (format != FormatCSV && format != FormatXLSX) {
		return nil, services.Errorf(services.CodeJobNotFound, "jobs: no template %s.%s", kind, format)
	}
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.Key
		if zh {
			header[i] = c.Label
		}
	}
	if format == FormatCSV {
		var b bytes.Buffer
		b.WriteString("\xEF\xBB\xBF") // so that Excel reads it as UTF-8
		w := csv.NewWriter(&b)
		w.UseCRLF = true
		_ = w.Write(header)
		w.Flush()
		return b.Bytes(), w.Error()
	}
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": text
	if err != nil {
		return nil, err
	}
	last, _ := excelize.ColumnNumberToName(len(cols))
	if err := f.SetColStyle(sheet, "A:"+last, text); err != nil {
		return nil, err
	}
	if err := f.SetColWidth(sheet, "A", last, 20); err != nil {
		return nil, err
	}
	row := make([]any, len(header))
	for i, h := range header {
		row[i] = h
	}
	if err := f.SetSheetRow(sheet, "A1", &row); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
