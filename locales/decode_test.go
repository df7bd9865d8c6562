package locales

import (
	"strings"
	"testing"
)

func TestDecodeRefusesAKeyWrittenTwice(t *testing.T) {
	cases := []struct{ raw, err string }{
		{`{"a": "1", "b": "2"}`, ""},
		{`{"a": "1", "a": "2"}`, "key a is written twice"},
		{`{"a": 1}`, "a: json"},
		{`["a"]`, "one JSON object"},
	}
	for _, c := range cases {
		m, err := decode([]byte(c.raw))
		switch {
		case c.err == "" && (err != nil || m["b"] != "2"):
			t.Errorf("%s: %v %v", c.raw, m, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.raw, err, c.err)
		}
	}
}
