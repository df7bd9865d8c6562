package transfer

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/platform"
)

func TestPath(t *testing.T) {
	tests := []struct {
		from, to string
		want     []string
	}{
		{StatusAccepted, StatusSent, []string{StatusSent}},
		{StatusAccepted, StatusFundsMoved, []string{StatusSent, StatusOldAccepts, StatusFundsMoved}},
		{StatusSent, StatusOldAccepts, []string{StatusOldAccepts}},
		{StatusSent, StatusFundsMoved, []string{StatusOldAccepts, StatusFundsMoved}},
		{StatusFundsMoved, StatusMerged, []string{StatusMerged}},
		{StatusAccepted, StatusRefused, []string{StatusSent, StatusRefused}},
		{StatusSent, StatusRefused, []string{StatusRefused}},
		{StatusAccepted, StatusCancelled, []string{StatusCancelled}},
		{StatusSent, StatusCancelled, []string{StatusCancelled}},
		// Old news, and what may not follow.
		{StatusFundsMoved, StatusOldAccepts, nil},
		{StatusOldAccepts, StatusOldAccepts, nil},
		{StatusOldAccepts, StatusCancelled, nil},
		{StatusOldAccepts, StatusRefused, nil},
		{StatusMerged, StatusRefused, nil},
		{StatusRefused, StatusFundsMoved, nil},
		{StatusCancelled, StatusFundsMoved, nil},
		{StatusCancelled, StatusMerged, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, path(tt.from, tt.to)); diff != "" {
			t.Errorf("path(%s, %s) (-want +got):\n%s", tt.from, tt.to, diff)
		}
	}
}

func TestFromPlatform(t *testing.T) {
	for in, want := range map[string]string{
		platform.TransferSent: StatusSent, platform.TransferAccepted: StatusOldAccepts, platform.TransferFundsMoved: StatusFundsMoved,
		platform.TransferRefused: StatusRefused, platform.TransferCancelled: StatusCancelled, "merged": "", "": "",
	} {
		if got := fromPlatform(in); got != want {
			t.Errorf("fromPlatform(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFinishedAndCancellable(t *testing.T) {
	for _, st := range Statuses() {
		fin := st == StatusMerged || st == StatusRefused || st == StatusCancelled
		if Finished(st) != fin {
			t.Errorf("Finished(%s) = %v", st, !fin)
		}
		canc := st == StatusAccepted || st == StatusSent
		if cancellable(st) != canc {
			t.Errorf("cancellable(%s) = %v", st, !canc)
		}
	}
}

func TestSortEvents(t *testing.T) {
	var es []Event
	for _, st := range []string{StatusMerged, StatusSent, StatusFundsMoved, StatusAccepted, StatusOldAccepts} {
		es = append(es, Event{Status: st})
	}
	sortEvents(es)
	var got []string
	for _, e := range es {
		got = append(got, e.Status)
	}
	if diff := cmp.Diff(mainLine, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestIDs(t *testing.T) {
	id := idKind.New()
	if !idKind.Valid(id) || idKind.Valid("wd_"+id[3:]) || idKind.Valid(id+"0") || idKind.Valid("tr_"+string(make([]byte, 32))) || idKind.Safe("x") != "invalid" {
		t.Errorf("ids: %s", id)
	}
}
