package certpdf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
)

// layout is one certificate type in one language, read from
// templates/certificate.<type>.<lang>.json. Sizes are in points at scale 1;
// a variant scales them. Every text is either a literal string in the
// layout's language or {"key": "..."} naming a locale message; both may
// carry {field} placeholders (see fields.go).
type layout struct {
	file string

	Margin        float64            `json:"margin"`
	Fonts         fontSizes          `json:"fonts"`
	Variants      map[string]palette `json:"variants"`
	DateFormat    string             `json:"date_format"`
	MonthFormat   string             `json:"month_format"`
	Yes           text               `json:"yes"`
	No            text               `json:"no"`
	None          text               `json:"none"`
	ListSeparator string             `json:"list_separator"`

	Issuer     text       `json:"issuer"`
	Title      text       `json:"title"`
	Number     text       `json:"number"`
	Intro      text       `json:"intro"`
	Sections   []section  `json:"sections"`
	NotesTitle text       `json:"notes_title"`
	Notes      []text     `json:"notes"`
	Signoff    []text     `json:"signoff"`
	Seal       sealSpec   `json:"seal"`
	Verify     verifySpec `json:"verify"`
	PageFooter text       `json:"page_footer"`
}

// fontSizes are the type sizes in points at scale 1.
type fontSizes struct {
	Title   float64 `json:"title"`
	Heading float64 `json:"heading"`
	Body    float64 `json:"body"`
	Small   float64 `json:"small"`
}

// palette is what a variant changes: the type scale and the colours
// (#rrggbb). The print variant sets them all to black or white.
type palette struct {
	Scale  float64 `json:"scale"`
	Ink    string  `json:"ink"`
	Accent string  `json:"accent"`
	Rule   string  `json:"rule"`
	Shade  string  `json:"shade"`
	Seal   string  `json:"seal"`
}

// section is one block of the certificate body. Kind picks how it is
// drawn: "facts" (label and value cells, Columns pairs to a row), "months"
// (a person's remittance table, Columns month/amount pairs to a row),
// "remittances" (a unit's months, one to a row: month, headcount, amount
// and the month's state, labelled by States) or "text" (a paragraph). If names a field; the section is left out when that field is
// false or empty.
type section struct {
	Heading    text            `json:"heading"`
	Kind       string          `json:"kind"`
	If         string          `json:"if"`
	Columns    int             `json:"columns"`
	LabelWidth float64         `json:"label_width"`
	Rows       []row           `json:"rows"`
	Text       text            `json:"text"`
	Month      text            `json:"month"`
	Amount     text            `json:"amount"`
	Gap        text            `json:"gap"`
	Headcount  text            `json:"headcount"`
	State      text            `json:"state"`
	States     map[string]text `json:"states"`
}

// monthStates are the states of a unit's complete month a remittances
// section must label (core.Bill*: a complete month is never open).
var monthStates = []string{"paid", "overdue", "failed", "pending", "collecting"}

// row is one label and value of a facts section. Wide rows take a whole
// line; If leaves the row out when the named field is false or empty.
type row struct {
	Label  text   `json:"label"`
	Field  string `json:"field"`
	Format string `json:"format"`
	Unit   text   `json:"unit"`
	Wide   bool   `json:"wide"`
	If     string `json:"if"`
}

// sealSpec is the wording of the e-seal: Ring runs along the top of the
// circle, Bottom sits under the star.
type sealSpec struct {
	Ring   text `json:"ring"`
	Bottom text `json:"bottom"`
}

// verifySpec is the wording next to the QR code.
type verifySpec struct {
	Code text `json:"code"`
	Hint text `json:"hint"`
}

// text is a literal or a locale key; see layout.
type text struct {
	Literal string
	Key     string
}

// UnmarshalJSON accepts "literal" or {"key": "locale.key"}.
func (t *text) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		var k struct {
			Key string `json:"key"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&k); err != nil {
			return err
		}
		if k.Key == "" {
			return fmt.Errorf("empty locale key")
		}
		t.Key = k.Key
		return nil
	}
	return json.Unmarshal(b, &t.Literal)
}

func (t text) empty() bool { return t.Literal == "" && t.Key == "" }

// layoutFile names the layout of a certificate type in a language.
func layoutFile(typ, lang string) string {
	return "certificate." + typ + "." + lang + ".json"
}

// loadLayout reads and checks one layout: unknown or missing keys,
// unknown fields, formats and placeholders, and locale keys the catalogue
// lacks all fail, so a broken layout stops start-up, not an issuance.
func loadLayout(layouts fs.FS, typ, lang string, cat Texts) (*layout, error) {
	name := layoutFile(typ, lang)
	raw, err := fs.ReadFile(layouts, name)
	if err != nil {
		return nil, fmt.Errorf("certpdf: layout %s: %w", name, err)
	}
	l := &layout{file: name}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(l); err != nil {
		return nil, fmt.Errorf("certpdf: layout %s: %w", name, err)
	}
	var problems []string
	check := func(where string, ok bool) {
		if !ok {
			problems = append(problems, where)
		}
	}
	checkText := func(where string, t text, required bool) {
		if t.empty() {
			check(where+": missing", !required)
			return
		}
		if t.Key != "" && cat.T(lang, t.Key, nil) == t.Key {
			problems = append(problems, where+": no locale key "+t.Key)
		}
		for _, p := range placeholders(t.Literal + resolveKey(cat, lang, t)) {
			if _, ok := fieldKinds[p]; !ok && !(where == "page_footer" && (p == "page" || p == "pages")) {
				problems = append(problems, where+": unknown placeholder {"+p+"}")
			}
		}
	}
	check("margin: missing", l.Margin > 0)
	check("fonts: every size must be set", l.Fonts.Title > 0 && l.Fonts.Heading > 0 && l.Fonts.Body > 0 && l.Fonts.Small > 0)
	for _, v := range variants {
		p, ok := l.Variants[v]
		check("variants."+v+": missing", ok)
		if ok {
			_, err := p.colours()
			check(fmt.Sprintf("variants.%s: %v", v, err), err == nil && p.Scale > 0)
		}
	}
	check("date_format: missing", l.DateFormat != "")
	check("month_format: missing", l.MonthFormat != "")
	checkText("yes", l.Yes, true)
	checkText("no", l.No, true)
	checkText("none", l.None, true)
	checkText("issuer", l.Issuer, true)
	checkText("title", l.Title, true)
	checkText("number", l.Number, true)
	checkText("intro", l.Intro, false)
	checkText("notes_title", l.NotesTitle, false)
	for i, n := range l.Notes {
		checkText(fmt.Sprintf("notes[%d]", i), n, true)
	}
	check("signoff: missing", len(l.Signoff) > 0)
	for i, s := range l.Signoff {
		checkText(fmt.Sprintf("signoff[%d]", i), s, true)
	}
	checkText("seal.ring", l.Seal.Ring, true)
	checkText("seal.bottom", l.Seal.Bottom, false)
	checkText("verify.code", l.Verify.Code, true)
	checkText("verify.hint", l.Verify.Hint, true)
	checkText("page_footer", l.PageFooter, true)
	check("sections: missing", len(l.Sections) > 0)
	for i, s := range l.Sections {
		problems = append(problems, s.problems(fmt.Sprintf("sections[%d]", i), checkText)...)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("certpdf: layout %s: %s", name, strings.Join(problems, "; "))
	}
	return l, nil
}

// problems checks a section; text problems go through checkText.
func (s section) problems(where string, checkText func(string, text, bool)) []string {
	var out []string
	checkText(where+".heading", s.Heading, true)
	if s.If != "" {
		if _, ok := fieldKinds[s.If]; !ok {
			out = append(out, where+".if: unknown field "+s.If)
		}
	}
	switch s.Kind {
	case "facts":
		if s.Columns < 1 || s.LabelWidth <= 0 || s.LabelWidth >= 1 || len(s.Rows) == 0 {
			out = append(out, where+": facts need columns ≥ 1, 0 < label_width < 1 and rows")
		}
		for j, r := range s.Rows {
			at := fmt.Sprintf("%s.rows[%d]", where, j)
			checkText(at+".label", r.Label, true)
			checkText(at+".unit", r.Unit, false)
			if err := checkFormat(r.Field, r.Format); err != nil {
				out = append(out, at+": "+err.Error())
			}
			if _, ok := fieldKinds[r.If]; r.If != "" && !ok {
				out = append(out, at+".if: unknown field "+r.If)
			}
		}
	case "months":
		if s.Columns < 1 {
			out = append(out, where+": months need columns ≥ 1")
		}
		checkText(where+".month", s.Month, true)
		checkText(where+".amount", s.Amount, true)
		checkText(where+".gap", s.Gap, true)
	case "remittances":
		checkText(where+".month", s.Month, true)
		checkText(where+".headcount", s.Headcount, true)
		checkText(where+".amount", s.Amount, true)
		checkText(where+".state", s.State, true)
		for _, st := range monthStates {
			checkText(where+".states."+st, s.States[st], true)
		}
		checkText(where+".gap", s.Gap, true)
	case "text":
		checkText(where+".text", s.Text, true)
	default:
		out = append(out, where+".kind: want facts, months, remittances or text, got "+fmt.Sprintf("%q", s.Kind))
	}
	return out
}

// placeholders lists the {name} placeholders in s.
func placeholders(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+j])
		s = s[i+j+1:]
	}
}

// resolveKey is the locale message of a key text, "" for a literal.
func resolveKey(cat Texts, lang string, t text) string {
	if t.Key == "" {
		return ""
	}
	return cat.T(lang, t.Key, nil)
}
