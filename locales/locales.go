// Package locales holds the message catalogues (zh-CN, the default, and en)
// and picks one for a request. Every text a client reads — error titles and
// details, field messages, labels — comes from here, never from Go code.
package locales

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

//go:embed *.json
var files embed.FS

// Supported languages, the default first.
const (
	ZhCN = "zh-CN"
	En   = "en"
)

// Catalogs holds every locale's messages, loaded once at start-up.
type Catalogs struct {
	byLang  map[string]map[string]string
	matcher language.Matcher
	tags    []string
}

// Load reads the embedded catalogues and checks that each has every key the
// others have, so a missing translation fails start-up, not a request.
func Load() (*Catalogs, error) {
	c := &Catalogs{byLang: map[string]map[string]string{}}
	var tags []language.Tag
	for _, lang := range []string{ZhCN, En} {
		raw, err := files.ReadFile(lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("locales: %s: %w", lang, err)
		}
		m, err := decode(raw)
		if err != nil {
			return nil, fmt.Errorf("locales: %s.json: %w", lang, err)
		}
		c.byLang[lang] = m
		c.tags = append(c.tags, lang)
		tags = append(tags, language.MustParse(lang))
	}
	c.matcher = language.NewMatcher(tags)
	if missing := c.Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("locales: keys missing: %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// decode reads a flat catalogue, refusing a key written twice: JSON keeps
// the last of two silently, so two changes adding the same key would
// otherwise lose one wording without a word.
func decode(raw []byte) (map[string]string, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("want one JSON object of strings")
	}
	m := map[string]string{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v string
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("key %s is written twice", key)
		}
		m[key] = v
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	return m, nil
}

// Missing lists "lang:key" for each key present in one catalogue but not in
// another.
func (c *Catalogs) Missing() []string {
	all := map[string]bool{}
	for _, m := range c.byLang {
		for k := range m {
			all[k] = true
		}
	}
	var out []string
	for lang, m := range c.byLang {
		for k := range all {
			if _, ok := m[k]; !ok {
				out = append(out, lang+":"+k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Has reports whether key exists (in every catalogue, as Load guarantees).
func (c *Catalogs) Has(key string) bool {
	_, ok := c.byLang[ZhCN][key]
	return ok
}

// Negotiate picks the language for a request: an explicit ?lang= wins, then
// Accept-Language, then zh-CN.
func (c *Catalogs) Negotiate(langParam, acceptLanguage string) string {
	if langParam != "" {
		if t, err := language.Parse(langParam); err == nil {
			_, i, conf := c.matcher.Match(t)
			if conf != language.No {
				return c.tags[i]
			}
		}
	}
	if acceptLanguage == "" {
		return ZhCN
	}
	wanted, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(wanted) == 0 {
		return ZhCN
	}
	_, i, conf := c.matcher.Match(wanted...)
	if conf == language.No {
		return ZhCN
	}
	return c.tags[i]
}

// T returns the message for key in lang with {name} placeholders filled from
// params. An unknown key returns the key itself, which a test forbids.
func (c *Catalogs) T(lang, key string, params map[string]any) string {
	m, ok := c.byLang[lang]
	if !ok {
		m = c.byLang[ZhCN]
	}
	msg, ok := m[key]
	if !ok {
		return key
	}
	if len(params) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	pairs := make([]string, 0, 2*len(params))
	for k, v := range params {
		pairs = append(pairs, "{"+k+"}", fmt.Sprint(v))
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}
