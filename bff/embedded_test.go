package bff

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// The embedded profile's in-process transport must behave like a socket:
// bodyless GETs work, and the simulator's "down" fault is a transport error.
func TestHandlerTransport(t *testing.T) {
	ctx := context.Background()
	secret := []byte(strings.Repeat("k", 32))
	sim, err := coresim.Open(ctx, coresim.Config{Keys: map[string][]byte{"k": secret}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c, err := core.NewClient(core.ClientConfig{BaseURL: "http://coresim.internal", KeyID: "k", Secret: secret,
		HTTPClient: &http.Client{Transport: handlerTransport{sim.Handler()}}, Timeout: time.Second, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}
	p := sim.Personas()[0]
	person, err := c.VerifyRealName(ctx, p.Name, p.IDNumber)
	if err != nil || person.PersonID == "" {
		t.Fatalf("real-name check with a body: %+v %v", person, err)
	}
	if err := sim.SetFaults("all=down"); err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Fatalf("down: %v", err)
	}
}
