package store

import (
	"database/sql"
	"strconv"
	"strings"
)

// Placeholders is "$from, $from+1, …", n of them: the list of an
// `IN (…)` that names many rows in one statement, on either database.
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// Args are vs as query arguments.
func Args[T any](vs ...T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// Set reads the first column of rows, a query's answer, as a set (the ids
// an `UPDATE … RETURNING id` changed) and closes them.
func Set(rows *sql.Rows, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		set[v] = true
	}
	return set, rows.Err()
}
