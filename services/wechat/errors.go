package wechat

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"handheld/services"
)

// WeChat errcodes this package acts on. The full list is WeChat's
// "全局返回码" page; anything not here is reported as unavailable.
const (
	errSystemBusy       = -1    // 系统繁忙
	errInvalidToken     = 40001 // access_token invalid or not the latest
	errInvalidCode      = 40029 // js_code / phone code invalid
	errCodeUsed         = 40163 // js_code already used
	errTokenExpired     = 42001 // access_token expired
	errFrequencyLimited = 45011 // API minute quota reached
)

// rateLimitRetryAfter is what a client is told to wait after 45011: WeChat
// counts its quotas per minute.
const rateLimitRetryAfter = time.Minute

// APIError is the Cause of every error this package returns, so that a
// caller that must tell failures apart (the notification worker giving up
// on 43101 "user refused") can errors.As it, while a log line shows what
// failed. Msg has been redacted: no secret, token, code, openid or phone.
// A URL in Msg names api.weixin.qq.com because the library built it so;
// the request itself went to Config.APIBase.
type APIError struct {
	API     string // "jscode2session", "stable_token", "getuserphonenumber", "subscribe.send"
	ErrCode int64  // WeChat's errcode; 0 when WeChat gave no answer
	Msg     string
}

// Error reads "wechat <api>: errcode=<n> errmsg=<text>", or "wechat <api>:
// <what went wrong>" when WeChat gave no answer.
func (e *APIError) Error() string {
	if e.ErrCode != 0 {
		return fmt.Sprintf("wechat %s: errcode=%d errmsg=%s", e.API, e.ErrCode, e.Msg)
	}
	return fmt.Sprintf("wechat %s: %s", e.API, e.Msg)
}

// codeFor maps a WeChat errcode to handheld's code. Only a bad code is the
// depositor's to fix and only 45011 is worth a timed retry; the rest is
// WeChat's or our configuration's trouble.
func codeFor(errcode int64) services.Code {
	switch errcode {
	case errInvalidCode, errCodeUsed:
		return services.CodeWeChatInvalidCode
	case errFrequencyLimited:
		return services.CodeWeChatRateLimited
	default: // errSystemBusy, bad credentials, unknown codes
		return services.CodeWeChatUnavailable
	}
}

// errcodeOf finds WeChat's errcode in what the library returned.
func errcodeOf(err error) (int64, string) {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode, ce.ErrMsg
	}
	return 0, ""
}

// staleToken reports whether WeChat refused the access token itself, which
// a fresh token cures.
func staleToken(err error) bool {
	code, _ := errcodeOf(err)
	return code == errInvalidToken || code == errTokenExpired
}

// translate turns a failed call into the one error type. errcode is
// WeChat's when the library reported it outside a CommonError (it formats
// some into plain strings); known are values that must not survive into
// the cause even if WeChat echoes them (the code, an openid).
func (c *Client) translate(api string, errcode int64, errmsg string, err error, known ...string) error {
	var se *services.Error
	if errors.As(err, &se) {
		return se // already translated (the token source)
	}
	if errcode == 0 {
		errcode, errmsg = errcodeOf(err)
	}
	if errcode != 0 {
		e := &services.Error{
			Code:  codeFor(errcode),
			Cause: &APIError{API: api, ErrCode: errcode, Msg: c.scrub(errmsg, known...)},
		}
		if e.Code == services.CodeWeChatRateLimited {
			e.RetryAfter = rateLimitRetryAfter
		}
		return e
	}
	// Transport trouble, a timeout, a non-200 status, an unreadable body.
	// The library's message holds the URL with the secret or the token, so
	// only its redacted text goes on; the original error is dropped.
	return &services.Error{
		Code:  services.CodeWeChatUnavailable,
		Cause: &APIError{API: api, Msg: c.scrub(err.Error(), known...)},
	}
}

// scrub redacts s and then removes the app secret and each known value.
func (c *Client) scrub(s string, known ...string) string {
	s = redact(s)
	for _, v := range append(known, c.secret) {
		if len(v) >= 4 { // shorter values would blank out ordinary words
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}

// credentialParam finds a credential's value in a URL query
// (secret=..., &access_token=...), in JSON ("secret":"...") or in Go's
// formatting of a map (secret:...). "secret" also covers appsecret and
// app_secret.
var credentialParam = regexp.MustCompile(
	`(?i)(secret|access_token|refresh_token|js_code|session_key)("?\s*[:=]\s*"?)([^&"'\s,;}\]]+)`)

// redact strips credential values from text that may hold one of the
// library's URLs or request bodies, before it reaches an error or a log.
func redact(s string) string {
	return credentialParam.ReplaceAllString(s, "${1}${2}[REDACTED]")
}
