package request

import (
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"handheld/services"
	"handheld/services/share"
)

// Predicate is one predicate as a client sends it: a name and, for most,
// a value that is a JSON integer (months, fen) or string (a status, a
// unit code).
type Predicate struct {
	Name  string         `json:"name"`
	Value jsontext.Value `json:"value,omitzero"`
}

// Predicates turns what a client sent into share predicates: an absent
// or null value is none, an integer an int64, a string a string; any
// other value (a fraction, an exponent, a list) is a type error naming
// predicates.<i>.value. Whether the value suits the predicate is the
// share package's check.
func Predicates(in []Predicate) ([]share.Predicate, error) {
	out := make([]share.Predicate, 0, len(in))
	var fields []services.FieldError
	for i, p := range in {
		sp := share.Predicate{Name: p.Name}
		switch {
		case len(p.Value) == 0 || p.Value.Kind() == 'n':
		case p.Value.Kind() == '"':
			var s string
			if err := json.Unmarshal(p.Value, &s); err != nil {
				fields = append(fields, typeError(i, "string"))
				continue
			}
			sp.Value = s
		case p.Value.Kind() == '0':
			n, err := strconv.ParseInt(string(p.Value), 10, 64)
			if err != nil {
				fields = append(fields, typeError(i, "integer"))
				continue
			}
			sp.Value = n
		default:
			fields = append(fields, typeError(i, "integer or string"))
			continue
		}
		out = append(out, sp)
	}
	if len(fields) > 0 {
		return nil, services.Invalid(fields...)
	}
	return out, nil
}

func typeError(i int, expected string) services.FieldError {
	return services.FieldError{Field: fmt.Sprintf("predicates.%d.value", i), Code: "type", Params: map[string]any{"expected": expected}}
}
