package request

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/share"
)

// TestPredicates: integers and strings pass as such, absent and null as
// none; a fraction, an exponent, a number past int64, a list or an object
// is a type error naming the entry.
func TestPredicates(t *testing.T) {
	var in struct {
		Predicates []Predicate `json:"predicates"`
	}
	if err := Decode([]byte(`{"predicates":[{"name":"a","value":12},{"name":"b","value":"normal"},{"name":"c"},{"name":"d","value":null}]}`), &in); err != nil {
		t.Fatal(err)
	}
	got, err := Predicates(in.Predicates)
	if err != nil {
		t.Fatal(err)
	}
	want := []share.Predicate{{Name: "a", Value: int64(12)}, {Name: "b", Value: "normal"}, {Name: "c"}, {Name: "d"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{`1.5`, `1e3`, `99999999999999999999`, `[1]`, `{"n":1}`, `true`} {
		if err := Decode([]byte(`{"predicates":[{"name":"a","value":`+bad+`}]}`), &in); err != nil {
			t.Fatalf("%s: %v", bad, err)
		}
		_, err := Predicates(in.Predicates)
		if e := services.AsError(err); err == nil || e.Code != services.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "predicates.0.value" {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
