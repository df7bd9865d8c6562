package wechat

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/util"
	"golang.org/x/sync/singleflight"

	"handheld/services"
	"handheld/services/kv"
)

// stableTokenURL is WeChat's stable access token endpoint. Unlike
// /cgi-bin/token, asking it again returns the token still in force instead
// of minting a new one and voiding the old, so replicas that miss the cache
// at the same moment do not knock each other's tokens out.
const stableTokenURL = "https://" + libraryHost + "/cgi-bin/stable_token"

// tokenMargin is how long before WeChat's expiry a cached token is dropped,
// so that no call goes out with a token about to lapse on the way.
const tokenMargin = 5 * time.Minute

// tokenSource is the library's access token handle, backed by the kv store
// instead of the library's in-process cache: one token per app for every
// replica, fetched once per expiry however many requests miss together.
type tokenSource struct {
	appID, secret string
	store         kv.Store
	route         *route
	now           func() time.Time
	log           *slog.Logger
	scrub         func(string, ...string) string
	called        func(api string, err *error) // Client.called
	group         singleflight.Group
}

// cachedToken is what the kv store holds. Expires repeats the TTL on the
// injected clock, so a test can age a token without waiting.
type cachedToken struct {
	Token   string `json:"token"`
	Expires int64  `json:"expires"` // unix seconds
}

var _ credential.AccessTokenContextHandle = (*tokenSource)(nil)

func (s *tokenSource) key() string { return "wechat:access_token:" + s.appID }

// GetAccessToken serves the library's calls that take no context.
func (s *tokenSource) GetAccessToken() (string, error) {
	return s.GetAccessTokenContext(context.Background())
}

// GetAccessTokenContext returns the cached token or fetches one. Its errors
// are already *services.Error; the library passes them through untouched.
func (s *tokenSource) GetAccessTokenContext(ctx context.Context) (string, error) {
	if tok, ok := s.cached(ctx); ok {
		return tok, nil
	}
	return s.load(ctx)
}

// invalidate drops the cached token after WeChat refused it and returns a
// fresh one. A replica that already refreshed may lose its entry to this;
// the stable endpoint then answers with the same token, one call wasted.
func (s *tokenSource) invalidate(ctx context.Context) (string, error) {
	if err := s.store.Del(ctx, s.key()); err != nil {
		s.log.WarnContext(ctx, "wechat: drop stale access token from kv", "err", err)
	}
	return s.load(ctx)
}

func (s *tokenSource) cached(ctx context.Context) (string, bool) {
	raw, ok, err := s.store.Get(ctx, s.key())
	if err != nil {
		// Fail soft: WeChat still answers, at the cost of one fetch.
		s.log.WarnContext(ctx, "wechat: read access token from kv", "err", err)
		return "", false
	}
	if !ok {
		return "", false
	}
	var t cachedToken
	if json.Unmarshal(raw, &t) != nil || t.Token == "" || s.now().Unix() >= t.Expires {
		return "", false
	}
	return t.Token, true
}

// load fetches a token once for all goroutines that miss together. The
// fetch runs without the first caller's cancellation, since the others
// wait on it too; the route's timeout bounds it. Each caller still stops
// waiting when its own context ends.
func (s *tokenSource) load(ctx context.Context) (string, error) {
	ch := s.group.DoChan("token", func() (any, error) {
		fctx := context.WithoutCancel(ctx)
		if tok, ok := s.cached(fctx); ok { // another goroutine or replica was faster
			return tok, nil
		}
		return s.fetch(fctx)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", &services.Error{
			Code:  services.CodeWeChatUnavailable,
			Cause: &APIError{API: apiStableToken, Msg: "gave up waiting: " + context.Cause(ctx).Error()},
		}
	}
}

// fetch asks the stable token endpoint, without force_refresh: forcing
// would void the token every other replica holds and WeChat allows it only
// a few times a day.
func (s *tokenSource) fetch(ctx context.Context) (_ string, err error) {
	defer s.called(apiStableToken, &err)
	body := map[string]any{
		"grant_type":    "client_credential",
		"appid":         s.appID,
		"secret":        s.secret,
		"force_refresh": false,
	}
	raw, err := util.PostJSONContext(s.route.attach(ctx), stableTokenURL, body)
	var res credential.ResAccessToken
	if err == nil {
		err = json.Unmarshal(raw, &res)
	}
	if err != nil || res.ErrCode != 0 || res.AccessToken == "" || res.ExpiresIn <= 0 {
		e := s.translate(res, err)
		s.log.WarnContext(ctx, "wechat: fetch access token", "err", e)
		return "", e
	}
	lifetime := time.Duration(res.ExpiresIn) * time.Second
	ttl := lifetime - tokenMargin
	if ttl < lifetime/2 {
		ttl = lifetime / 2
	}
	val, _ := json.Marshal(cachedToken{Token: res.AccessToken, Expires: s.now().Add(ttl).Unix()})
	if err := s.store.Set(ctx, s.key(), val, ttl); err != nil {
		s.log.WarnContext(ctx, "wechat: store access token in kv", "err", err)
	}
	return res.AccessToken, nil
}

func (s *tokenSource) translate(res credential.ResAccessToken, err error) *services.Error {
	a := &APIError{API: apiStableToken, ErrCode: res.ErrCode, Msg: s.scrub(res.ErrMsg, res.AccessToken)}
	switch {
	case err != nil:
		a.Msg = s.scrub(err.Error())
	case res.ErrCode == 0:
		a.Msg = "answer without a token or lifetime"
	}
	e := &services.Error{Code: services.CodeWeChatUnavailable, Cause: a}
	if res.ErrCode != 0 {
		e.Code = codeFor(res.ErrCode)
		if e.Code == services.CodeWeChatInvalidCode {
			e.Code = services.CodeWeChatUnavailable // no user code is involved here
		}
	}
	if e.Code == services.CodeWeChatRateLimited {
		e.RetryAfter = rateLimitRetryAfter
	}
	return e
}
