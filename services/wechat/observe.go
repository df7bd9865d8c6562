package wechat

import "errors"

// The APIs this package calls, as APIError.API and Config.Observe name
// them. They are metric label values: fixed, and never a URL.
const (
	apiCode2Session    = "jscode2session"
	apiPhoneNumber     = "getuserphonenumber"
	apiSubscribeSend   = "subscribe.send"
	apiStableToken     = "stable_token"
	apiGetVerifyID     = "getverifyid"
	apiQueryVerifyInfo = "queryverifyinfo"
)

// APIs lists every API name Config.Observe may report, so a metric can
// start each at zero.
func APIs() []string {
	return []string{apiCode2Session, apiPhoneNumber, apiSubscribeSend, apiStableToken, apiGetVerifyID, apiQueryVerifyInfo}
}

// The results Config.Observe reports: a few classes of WeChat's errcode
// rather than the code itself, so that the label stays small whatever
// WeChat answers.
const (
	// ResultOK: WeChat answered with what was asked.
	ResultOK = "ok"
	// ResultTransport: no usable answer - connection refused or reset, the
	// timeout, a non-200 status, a body that would not decode or lacked
	// what was asked.
	ResultTransport = "transport"
	// ResultBusy: errcode -1, WeChat's "system busy".
	ResultBusy = "busy"
	// ResultInvalidCode: errcode 40029 or 40163, a login or phone code
	// that is wrong or used: the person's to retry.
	ResultInvalidCode = "invalid_code"
	// ResultToken: errcode 40001 or 42001, the access token refused even
	// after renewing it once.
	ResultToken = "token"
	// ResultRateLimited: errcode 45011, the app's quota per minute.
	ResultRateLimited = "rate_limited"
	// ResultOther: any other errcode (a bad app secret, a refused
	// subscription, a template that does not exist...); the log names it.
	ResultOther = "other_errcode"
)

// Results lists every value Config.Observe may report as result.
func Results() []string {
	return []string{ResultOK, ResultTransport, ResultBusy, ResultInvalidCode, ResultToken, ResultRateLimited, ResultOther}
}

// called reports one call and how it ended to Config.Observe. It is
// deferred by each method once it is past the checks that answer without
// a request, with a pointer to the method's named error.
func (c *Client) called(api string, err *error) {
	if c.observe != nil {
		c.observe(api, resultOf(*err))
	}
}

// resultOf classes a call's error, already translated: its APIError's
// errcode, or transport when WeChat gave none.
func resultOf(err error) string {
	if err == nil {
		return ResultOK
	}
	var a *APIError
	if !errors.As(err, &a) || a.ErrCode == 0 {
		return ResultTransport
	}
	switch a.ErrCode {
	case errSystemBusy:
		return ResultBusy
	case errInvalidCode, errCodeUsed:
		return ResultInvalidCode
	case errInvalidToken, errTokenExpired:
		return ResultToken
	case errFrequencyLimited:
		return ResultRateLimited
	}
	return ResultOther
}
