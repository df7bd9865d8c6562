package bff

import (
	"errors"
	"net/http"
	"net/http/httptest"
)

// handlerTransport serves the core client's requests with the in-process
// simulator's handler: the embedded profile keeps the real client, signing
// and fault behaviour without a socket.
type handlerTransport struct{ h http.Handler }

// errConnectionReset stands in for a dropped connection when the simulator
// aborts a request (its "down" fault).
var errConnectionReset = errors.New("in-process core: connection reset")

func (t handlerTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, errConnectionReset
		}
	}()
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	// A handler expects a server-side request: a body that is never nil.
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RemoteAddr = "127.0.0.1:0"
	in.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}
