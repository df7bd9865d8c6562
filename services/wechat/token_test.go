package wechat_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/kv"
	"handheld/services/redistest"
	"handheld/services/suite"
	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
)

// eachStore runs a test with the in-memory store and with real Redis.
func eachStore(t *testing.T, test func(t *testing.T, store kv.Store)) {
	t.Run("memory", func(t *testing.T) { test(t, kv.NewMemory(time.Now, services.NewHashKey(kvSecret, suite.Env()))) })
	t.Run("redis", func(t *testing.T) {
		test(t, kv.NewRedis(redistest.Client(t), redistest.Prefix(t), services.NewHashKey(kvSecret, suite.Env()), time.Second))
	})
}

func TestAccessTokenFetchedOnceAndShared(t *testing.T) {
	eachStore(t, func(t *testing.T, store kv.Store) {
		f := newFixture(t, store)
		// A slow token endpoint, so that every caller misses the cache
		// while the first fetch is on its way.
		f.srv.SetDelay(wechattest.StableToken, 150*time.Millisecond)
		const n = 24
		for i := range n {
			f.srv.AddPhone(fmt.Sprintf("phone-code-%02d", i), fmt.Sprintf("139000000%02d", i))
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				phone, err := f.c.PhoneNumber(ctx(t), fmt.Sprintf("phone-code-%02d", i))
				if err == nil && phone != fmt.Sprintf("139000000%02d", i) {
					err = fmt.Errorf("phone %s", phone)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}
		if got := f.srv.Calls(wechattest.StableToken); got != 1 {
			t.Errorf("%d concurrent calls fetched the token %d times, want once", n, got)
		}

		key := "wechat:access_token:" + f.srv.AppID
		raw, ok, err := store.Get(ctx(t), key)
		if err != nil || !ok || !strings.Contains(string(raw), f.srv.Token()) {
			t.Fatalf("kv %s = %q, %v, %v; want the token", key, raw, ok, err)
		}
		ttl, err := store.TTL(ctx(t), key)
		lifetime := wechattest.TokenLifetime - 5*time.Minute
		if err != nil || ttl > lifetime || ttl < lifetime-10*time.Second {
			t.Errorf("token TTL %s, %v; want about %s", ttl, err, lifetime)
		}

		// Another replica over the same store uses the same token.
		if _, err := f.replica(t).PhoneNumber(ctx(t), "phone-code-00"); err != nil {
			t.Fatal(err)
		}
		if got := f.srv.Calls(wechattest.StableToken); got != 1 {
			t.Errorf("replica fetched its own token: %d fetches", got)
		}
	})
}

func TestAccessTokenRefreshedWhenWeChatRefusesIt(t *testing.T) {
	eachStore(t, func(t *testing.T, store kv.Store) {
		f := newFixture(t, store)
		f.srv.AddPhone("phone-code", "13800138000")
		if _, err := f.c.PhoneNumber(ctx(t), "phone-code"); err != nil {
			t.Fatal(err)
		}
		old := f.srv.Token()

		// WeChat voided the token: the call fails once, the token is
		// fetched anew, and the retry succeeds.
		f.srv.ExpireToken()
		if _, err := f.c.PhoneNumber(ctx(t), "phone-code"); err != nil {
			t.Fatal(err)
		}
		if f.srv.Token() == old {
			t.Fatal("fake did not rotate the token")
		}
		if got, want := f.srv.Calls(wechattest.StableToken), 2; got != want {
			t.Errorf("%d token fetches, want %d", got, want)
		}
		raw, _, _ := store.Get(ctx(t), "wechat:access_token:"+f.srv.AppID)
		if !strings.Contains(string(raw), f.srv.Token()) {
			t.Errorf("kv still holds the voided token")
		}

		// Subscribe messages recover the same way, from 42001 too.
		f.srv.FailNext(wechattest.Send, 42001)
		if err := f.c.SendSubscribe(ctx(t), wechat.Message{ToOpenID: "oUser-0009", TemplateID: "t1"}); err != nil {
			t.Fatal(err)
		}
		if got, want := len(f.srv.Sent()), 1; got != want {
			t.Errorf("%d messages sent, want %d", got, want)
		}

		// Only once: a token refused twice is WeChat's trouble, not ours.
		f.srv.FailNext(wechattest.Phone, 40001)
		f.srv.FailNext(wechattest.Phone, 40001)
		before := f.srv.Calls(wechattest.Phone)
		_, err := f.c.PhoneNumber(ctx(t), "phone-code")
		if ae := wantCode(t, err, services.CodeWeChatUnavailable); ae == nil || ae.ErrCode != 40001 {
			t.Errorf("cause %v, want errcode 40001", ae)
		}
		if got := f.srv.Calls(wechattest.Phone) - before; got != 2 {
			t.Errorf("%d attempts, want 2", got)
		}
	})
}

// TestAccessTokenAgesOnTheClock checks the margin: a token is used until
// five minutes before WeChat's expiry and fetched anew after.
func TestAccessTokenAgesOnTheClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	f := newFixture(t, kv.NewMemory(clock, services.NewHashKey(kvSecret, suite.Env())), func(c *wechat.Config) { c.Now = clock })
	f.srv.AddPhone("phone-code", "13800138000")
	phone := func() {
		t.Helper()
		if _, err := f.c.PhoneNumber(ctx(t), "phone-code"); err != nil {
			t.Fatal(err)
		}
	}
	phone()
	advance(wechattest.TokenLifetime - 5*time.Minute - time.Second)
	phone()
	if got := f.srv.Calls(wechattest.StableToken); got != 1 {
		t.Fatalf("token fetched %d times before the margin, want 1", got)
	}
	advance(2 * time.Second)
	phone()
	if got := f.srv.Calls(wechattest.StableToken); got != 2 {
		t.Fatalf("token fetched %d times after the margin, want 2", got)
	}
}

// TestTokenStoreDownFailsSoft: without a working kv store the adapter
// still works, fetching the (stable, so unchanged) token each time.
func TestTokenStoreDownFailsSoft(t *testing.T) {
	f := newFixture(t, brokenStore{})
	f.srv.AddPhone("phone-code", "13800138000")
	for range 2 {
		if _, err := f.c.PhoneNumber(ctx(t), "phone-code"); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.srv.Calls(wechattest.StableToken); got != 2 {
		t.Errorf("%d token fetches without a store, want 2", got)
	}
	if !strings.Contains(f.logs.String(), "kv") {
		t.Errorf("store failure not logged:\n%s", f.logs)
	}
}
