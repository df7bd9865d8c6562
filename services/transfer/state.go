package transfer

import "handheld/services/platform"

// rank orders statuses along the way a transfer goes; the three final
// ones share the last rank.
var rank = map[string]int{
	StatusAccepted: 0, StatusSent: 1, StatusOldAccepts: 2, StatusFundsMoved: 3,
	StatusMerged: 4, StatusRefused: 4, StatusCancelled: 4,
}

// mainLine is the way a transfer goes when all is well.
var mainLine = []string{StatusAccepted, StatusSent, StatusOldAccepts, StatusFundsMoved, StatusMerged}

// fromPlatform is our status for the platform's; "" for one the contract
// does not name.
func fromPlatform(status string) string {
	switch status {
	case platform.TransferSent:
		return StatusSent
	case platform.TransferAccepted:
		return StatusOldAccepts
	case platform.TransferFundsMoved:
		return StatusFundsMoved
	case platform.TransferRefused:
		return StatusRefused
	case platform.TransferCancelled:
		return StatusCancelled
	}
	return ""
}

// path is every status a transfer at from passes to reach to, in order,
// to included: the platform may report several steps at once (a callback
// lost, the old centre accepting and moving the funds in one go, a later
// callback overtaking an earlier one), and the person is told each step.
// It is empty when to is no step forward from from: a status already
// passed, a finished transfer, a refusal or cancellation after the old
// centre accepted.
func path(from, to string) []string {
	if Finished(from) || rank[to] <= rank[from] {
		return nil
	}
	switch to {
	case StatusCancelled:
		if rank[from] >= rank[StatusOldAccepts] {
			return nil
		}
		return []string{StatusCancelled}
	case StatusRefused:
		if rank[from] >= rank[StatusOldAccepts] {
			return nil
		}
		if from == StatusAccepted {
			return []string{StatusSent, StatusRefused}
		}
		return []string{StatusRefused}
	}
	var out []string
	for _, st := range mainLine {
		if rank[st] > rank[from] && rank[st] <= rank[to] {
			out = append(out, st)
		}
	}
	return out
}

// cancellable is whether the person may still cancel: before the old
// centre accepted.
func cancellable(status string) bool {
	return status == StatusAccepted || status == StatusSent
}
