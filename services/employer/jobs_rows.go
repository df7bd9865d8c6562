package employer

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"handheld/services"
)

// RowError is one thing wrong with a line of a bulk file: the column (a
// key of the kind's columns; empty for the line as a whole), a stable
// code and what fills its message. Field codes (format, checksum,
// formula, ...) are a cell's, as the single call's errors[] has them;
// other codes (staff.already_employed, ...) are the core's or this
// service's answer to the line as a whole. No personal data: the cell's
// value is read from the line when a report is written.
type RowError struct {
	Column string         `json:"column,omitempty"`
	Code   string         `json:"code"`
	Params map[string]any `json:"params,omitempty"`
	Field  bool           `json:"field,omitempty"`
}

// fileLine is one data line, checked: its request, ready to apply, or why
// it cannot be.
type fileLine struct {
	sheetRow
	join   Join
	leave  Leave
	rejoin Rejoin
	base   BaseChange
	errs   []RowError
}

// checkLines checks every line of a kind's file as the single calls check
// their fields (the same functions), cell by cell, and refuses a person
// named on an earlier line again (field duplicate: the earlier line's
// change would make this one fail or undo it).
func checkLines(kind string, rows []sheetRow, now time.Time) []fileLine {
	cols := jobColumns[kind]
	first := make(map[string]int, len(rows))
	out := make([]fileLine, len(rows))
	for i, r := range rows {
		l := fileLine{sheetRow: r}
		bad := map[string]bool{}
		for c, cell := range r.Cells {
			if formulaStart(cell) {
				l.errs = append(l.errs, RowError{Column: cols[c].Key, Code: services.FieldFormula, Field: true})
				bad[cols[c].Key] = true
			}
			r.Cells[c] = strings.TrimSpace(cell)
		}
		var fields []services.FieldError
		number := func(col string, v string, blankOK bool) int64 {
			if v == "" && blankOK {
				return 0
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil && !bad[col] {
				l.errs = append(l.errs, RowError{Column: col, Code: services.FieldNotNumber, Field: true})
				bad[col] = true
			}
			return n
		}
		var person string
		switch kind {
		case JobJoin:
			l.join = Join{Name: r.Cells[0], IDNumber: strings.ToUpper(r.Cells[1]), BaseFen: number("base_fen", r.Cells[2], false), StartMonth: r.Cells[3]}
			fields, person = joinFields(l.join, now), "id:"+l.join.IDNumber
		case JobLeave:
			l.leave = Leave{StaffID: r.Cells[0], Month: r.Cells[1], Reason: r.Cells[2]}
			fields, person = leaveFields(l.leave), "p:"+l.leave.StaffID
		case JobRejoin:
			l.rejoin = Rejoin{StaffID: r.Cells[0], BaseFen: number("base_fen", r.Cells[1], true)}
			fields, person = baseField(l.rejoin.BaseFen, 0), "p:"+l.rejoin.StaffID
		case JobBase:
			l.base = BaseChange{StaffID: r.Cells[0], BaseFen: number("base_fen", r.Cells[1], false)}
			fields, person = baseField(l.base.BaseFen, 1), "p:"+l.base.StaffID
		}
		if kind != JobJoin && !validStaffID(r.Cells[0]) && !bad["staff_id"] {
			l.errs = append(l.errs, RowError{Column: "staff_id", Code: services.FieldFormat, Field: true})
			bad["staff_id"] = true
		}
		for _, f := range fields {
			if !bad[f.Field] {
				l.errs = append(l.errs, RowError{Column: f.Field, Code: f.Code, Params: f.Params, Field: true})
				bad[f.Field] = true
			}
		}
		if len(l.errs) == 0 {
			if at, dup := first[person]; dup {
				l.errs = append(l.errs, RowError{Column: cols[personColumn(kind)].Key, Code: services.FieldDuplicate, Field: true,
					Params: map[string]any{"first": "line " + strconv.Itoa(at)}})
			} else {
				first[person] = r.Line
			}
		}
		out[i] = l
	}
	return out
}

// personColumn is the index of the column naming the person.
func personColumn(kind string) int {
	if kind == JobJoin {
		return 1
	}
	return 0
}

// lineOf rebuilds a checked line's request from its stored cells.
func lineOf(kind string, line int, cells []string, now time.Time) fileLine {
	return checkLines(kind, []sheetRow{{Line: line, Cells: cells}}, now)[0]
}

// rowErrorsOf turns a single call's refusal of a line into the line's
// errors: its field errors on their columns, anything else on the line.
func rowErrorsOf(err error) []RowError {
	var e *services.Error
	if !errors.As(err, &e) {
		return []RowError{{Code: string(services.CodeInternal)}}
	}
	if len(e.Fields) == 0 {
		params := e.Params
		return []RowError{{Code: string(e.Code), Params: params}}
	}
	out := make([]RowError, 0, len(e.Fields))
	for _, f := range e.Fields {
		col := f.Field
		if strings.HasPrefix(col, "bases.") {
			col = col[strings.LastIndexByte(col, '.')+1:]
		}
		out = append(out, RowError{Column: col, Code: f.Code, Params: f.Params, Field: true})
	}
	return out
}
