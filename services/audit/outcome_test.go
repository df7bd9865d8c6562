package audit

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"handheld/services"
)

type queue struct {
	got []Record
	err error
}

func (q *queue) Enqueue(_ context.Context, r Record) error {
	q.got = append(q.got, r)
	return q.err
}

func TestOutcome(t *testing.T) {
	ctx := services.WithRequestID(context.Background(), "req-outcome-01")
	log := slog.New(slog.DiscardHandler)
	notFound := services.E(services.CodeNotFound)
	cases := []struct {
		name     string
		queueErr error
		opErr    error
		preset   string
		want     services.Code // "" for nil
		result   string
	}{
		{"read recorded", nil, nil, "", "", "ok"},
		{"failed read recorded", nil, notFound, "", services.CodeNotFound, "error"},
		{"unrecorded read withheld", errors.New("queue closed"), nil, "", services.CodeInternal, "ok"},
		{"failed read, record lost: the read's own error", errors.New("queue closed"), notFound, "", services.CodeNotFound, "error"},
		{"caller's result kept", nil, notFound, "denied", services.CodeNotFound, "denied"},
	}
	for _, tc := range cases {
		q := &queue{err: tc.queueErr}
		err := Outcome(ctx, q, log, Record{Action: "read.account", Result: tc.preset}, tc.opErr)
		if tc.want == "" && err != nil || tc.want != "" && services.ErrorCode(err) != tc.want {
			t.Errorf("%s: err %v, want %s", tc.name, err, tc.want)
		}
		if len(q.got) != 1 || q.got[0].Result != tc.result || q.got[0].RequestID != "req-outcome-01" {
			t.Errorf("%s: recorded %+v", tc.name, q.got)
		}
	}
}
