package e2e

import (
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/ratelimit"
	"handheld/services/redistest"
)

// Two replicas share a real three-master Redis Cluster: what one replica
// writes to the shared state, the other honours — limits, revocations,
// single-use binding tokens and the e-card's one-time use. When the cluster
// goes away, sign-in answers 503 with Retry-After, never 500.
func TestTwoReplicasOnARedisCluster(t *testing.T) {
	t.Parallel()
	const limit = 10
	nodes := redistest.StartCluster(t)
	a := start(t, func(c *bff.Config) {
		c.RedisURL = redistest.ClusterURL(nodes)
		c.RateLimits = append(bff.Defaults().RateLimits, ratelimit.Policy{Name: "read_subject_cluster",
			Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"read"}, Rate: limit, Burst: limit, Period: time.Hour})
	})
	b := a.replica()

	// A binding token issued by one replica is spent by the other, once.
	zhang := a.persona("depositor", "张伟")
	var first tokens
	a.do("POST", "/api/v1/auth/wechat", map[string]string{"code": a.wechatCode("oCluster0000001")}, nil).json(t, &first)
	bind := map[string]string{"name": zhang.Name, "id_number": zhang.IDNumber, "face_result": a.passedFace(first.BindingToken, zhang)}
	r := b.do("POST", "/api/v1/auth/bind", bind, bearer(first.BindingToken))
	if r.StatusCode != 200 {
		t.Fatalf("bind on the other replica: %d %s", r.StatusCode, r.body)
	}
	var tok tokens
	r.json(t, &tok)
	wantProblem(t, a.do("POST", "/api/v1/auth/bind", bind, bearer(first.BindingToken)), 401, "auth.binding_invalid")

	// The e-card payload verifies once across both replicas.
	card := a.ecard(tok.AccessToken)
	if r := b.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(b.verifierToken())); r.StatusCode != 200 {
		t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, a.do("POST", "/api/v1/ecard/verify", map[string]string{"payload": card.Payload}, bearer(a.verifierToken())), 409, "ecard.replayed")

	// Logging out on one replica revokes the session on the other at once
	// (a second session of the same person: the first is needed below).
	var again tokens
	a.do("POST", "/api/v1/auth/wechat", map[string]string{"code": a.wechatCode("oCluster0000001")}, nil).json(t, &again)
	if r := b.do("POST", "/api/v1/auth/logout", nil, bearer(again.AccessToken)); r.StatusCode != 204 {
		t.Fatalf("logout %d %s", r.StatusCode, r.body)
	}
	wantProblem(t, a.do("GET", "/api/v1/me/session", nil, bearer(again.AccessToken)), 401, "auth.session_revoked")

	// One limit across both replicas (the e-card reads above are the e-card
	// class and spent none of it).
	allowed := 1 // the logout above is a read too
	for i := range 2*limit - 1 {
		target := a
		if i%2 == 1 {
			target = b
		}
		switch r := target.do("GET", "/api/v1/me/session", nil, bearer(tok.AccessToken)); r.StatusCode {
		case 200:
			allowed++
		case 429:
		default:
			t.Fatalf("request %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	if allowed < limit-1 || allowed > limit+1 {
		t.Fatalf("%d reads allowed across two replicas on the cluster, limit %d", allowed, limit)
	}
}

// Without the shared state a sign-in cannot issue its binding token: the
// client is told to retry shortly (503, Retry-After), not that something
// broke, and the log keeps the cause.
func TestSignInWithoutRedisIsRetryable(t *testing.T) {
	t.Parallel()
	addr, stopRedis, _ := redistest.StartServer(t)
	e := start(t, func(c *bff.Config) { c.RedisURL = "redis://" + addr + "/0" })
	stopRedis()
	r := e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode("oNoRedis0000001")}, nil)
	wantProblem(t, r, 503, "service.unavailable")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	if strings.Contains(string(r.body), addr) {
		t.Fatalf("the problem names the Redis address: %s", r.body)
	}
}
