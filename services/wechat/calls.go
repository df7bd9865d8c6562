package wechat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"

	"github.com/silenceper/wechat/v2/miniprogram/auth"
	"github.com/silenceper/wechat/v2/miniprogram/subscribe"
	"github.com/silenceper/wechat/v2/util"

	"handheld/services"
)

// Sandbox code prefixes, accepted only when Config.Sandbox is on. Neither
// ':' nor the prefixes can appear in a real WeChat code.
const (
	SandboxLoginPrefix = "sandbox:"
	SandboxPhonePrefix = "sandbox-phone:"
)

// subscribeSendURL is the library's subscribe.Send endpoint; see SendSubscribe.
const subscribeSendURL = "https://" + libraryHost + "/cgi-bin/message/subscribe/send"

// Code2Session exchanges the code from wx.login for the depositor's openid.
// A code that is not 1..128 of [A-Za-z0-9_-] is refused before it can reach
// a URL.
func (c *Client) Code2Session(ctx context.Context, code string) (_ Session, err error) {
	if openid, ok := strings.CutPrefix(code, SandboxLoginPrefix); ok {
		if !c.sandbox || !codeLike(openid, 6, 64) {
			return Session{}, invalidCode("not a sandbox login code this client accepts")
		}
		return Session{OpenID: openid}, nil
	}
	if err := c.checkCode(code); err != nil {
		return Session{}, err
	}
	defer c.called(apiCode2Session, &err)
	res, err := c.mp.GetAuth().Code2SessionContext(c.route.attach(ctx), code)
	if err != nil {
		return Session{}, c.translate(apiCode2Session, res.ErrCode, res.ErrMsg, err, code, res.OpenID, res.SessionKey)
	}
	if !codeLike(res.OpenID, 1, 128) {
		return Session{}, unavailable(apiCode2Session, "answer without a usable openid")
	}
	return Session{OpenID: res.OpenID, UnionID: res.UnionID}, nil
}

// PhoneNumber exchanges the code from a getPhoneNumber button for the
// depositor's phone number without country code, as the core stores it.
func (c *Client) PhoneNumber(ctx context.Context, code string) (_ string, err error) {
	if digits, ok := strings.CutPrefix(code, SandboxPhonePrefix); ok {
		if !c.sandbox || !elevenDigits(digits) {
			return "", invalidCode("not a sandbox phone code this client accepts")
		}
		return digits, nil
	}
	if err := c.checkCode(code); err != nil {
		return "", err
	}
	defer c.called(apiPhoneNumber, &err)
	ctx = c.route.attach(ctx)
	var res *auth.GetPhoneNumberResponse
	err = c.retryStale(ctx, func() (err error) {
		res, err = c.mp.GetAuth().GetPhoneNumberContext(ctx, code)
		return err
	})
	if err != nil {
		return "", c.translate(apiPhoneNumber, 0, "", err, code)
	}
	phone := res.PhoneInfo.PurePhoneNumber
	if phone == "" {
		return "", unavailable(apiPhoneNumber, "answer without a phone number")
	}
	return phone, nil
}

// SendSubscribe sends one subscribe message. In the sandbox it only logs
// the template and a hash of the openid.
//
// It builds the library's subscribe.Message and posts it the way the
// library's subscribe.Send does, through the library's HTTP helpers, but
// with the caller's context: subscribe.Send (v2.1.10) takes none and posts
// with context.Background(), which would drop the deadline and the route
// to APIBase.
func (c *Client) SendSubscribe(ctx context.Context, m Message) (err error) {
	if !codeLike(m.ToOpenID, 1, 128) || !codeLike(m.TemplateID, 1, 128) {
		return services.Errorf(services.CodeInternal, "wechat subscribe.send: message needs an openid and a template id of [A-Za-z0-9_-]")
	}
	if c.sandbox {
		c.log.InfoContext(ctx, "wechat sandbox: subscribe message not sent",
			"template", m.TemplateID, "openid_hash", openIDHash(m.ToOpenID),
			"request_id", services.RequestID(ctx))
		return nil
	}
	msg := &subscribe.Message{
		ToUser:           m.ToOpenID,
		TemplateID:       m.TemplateID,
		Page:             m.Page,
		Data:             make(map[string]*subscribe.DataItem, len(m.Data)),
		MiniprogramState: "formal",
		Lang:             m.Lang,
	}
	if msg.Lang == "" {
		msg.Lang = "zh_CN"
	}
	for k, v := range m.Data {
		msg.Data[k] = &subscribe.DataItem{Value: v}
	}
	defer c.called(apiSubscribeSend, &err)
	ctx = c.route.attach(ctx)
	err = c.retryStale(ctx, func() error {
		tok, err := c.tokens.GetAccessTokenContext(ctx)
		if err != nil {
			return err
		}
		raw, err := util.PostJSONContext(ctx, subscribeSendURL+"?access_token="+url.QueryEscape(tok), msg)
		if err != nil {
			return err
		}
		return util.DecodeWithCommonError(raw, apiSubscribeSend)
	})
	if err != nil {
		return c.translate(apiSubscribeSend, 0, "", err, m.ToOpenID)
	}
	return nil
}

// retryStale runs call, and once more with a fresh access token when
// WeChat refused the one it had.
func (c *Client) retryStale(ctx context.Context, call func() error) error {
	err := call()
	if !staleToken(err) {
		return err
	}
	if _, terr := c.tokens.invalidate(ctx); terr != nil {
		return terr
	}
	return call()
}

// checkCode refuses a code before any HTTP call: malformed, or real while
// this client has no app to ask.
func (c *Client) checkCode(code string) error {
	if !codeLike(code, 1, 128) {
		return invalidCode("code is not 1..128 of [A-Za-z0-9_-]")
	}
	if !c.live {
		return invalidCode("sandbox without an app accepts sandbox codes only")
	}
	return nil
}

func invalidCode(why string) *services.Error {
	return &services.Error{Code: services.CodeWeChatInvalidCode, Cause: errors.New("wechat: " + why)}
}

func unavailable(api, why string) *services.Error {
	return &services.Error{Code: services.CodeWeChatUnavailable, Cause: &APIError{API: api, Msg: why}}
}

func elevenDigits(s string) bool {
	if len(s) != 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// openIDHash names a recipient in a log line without naming the person.
func openIDHash(openid string) string {
	sum := sha256.Sum256([]byte("handheld-wechat-openid:" + openid))
	return hex.EncodeToString(sum[:8])
}
