package outbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// lockedBuffer is a log sink that delivering goroutines may share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsNameRowsNotPeople proves house rule 8 for the worker: a retry is
// logged at Warn and a dead message at Error, with topic, id and attempts,
// and the payload, which holds personal data, appears in neither.
func TestLogsNameRowsNotPeople(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := newClock()
		var sink lockedBuffer
		h, _ := script(errors.New("core unavailable"), outbox.Permanent(errors.New("core.rejected")))
		w, err := outbox.New(outbox.Config{
			Store:       s,
			Topics:      []outbox.Topic{{Name: "withdrawal.submit", Handle: h}},
			Enqueued:    []outbox.TopicName{"withdrawal.submit"},
			Now:         clk.Now,
			Logger:      slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug})),
			BackoffBase: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		payload := `{"name":"张三","id_number":"110101199003071234","phone":"13800138000"}`
		enqueue(t, s, outbox.Message{ID: "app-7", Topic: "withdrawal.submit", Payload: []byte(payload)}, clk.Now())
		runOnce(t, w)
		clk.Advance(time.Minute)
		runOnce(t, w)

		var levels []string
		for line := range strings.Lines(sink.String()) {
			var rec struct {
				Level    string `json:"level"`
				Topic    string `json:"topic"`
				ID       string `json:"id"`
				Attempts int    `json:"attempts"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %v", err)
			}
			if rec.Topic != "withdrawal.submit" || rec.ID != "app-7" || rec.Attempts == 0 {
				t.Errorf("log line does not name topic, id and attempts: %s", line)
			}
			levels = append(levels, rec.Level)
		}
		if strings.Join(levels, ",") != "WARN,ERROR" {
			t.Errorf("log levels = %v, want WARN for the retry then ERROR for the dead message", levels)
		}
		for _, secret := range []string{"张三", "110101199003071234", "13800138000"} {
			if strings.Contains(sink.String(), secret) {
				t.Errorf("the log holds %q from the payload:\n%s", secret, sink.String())
			}
		}
	})
}
