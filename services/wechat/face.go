package wechat

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// WeChat face verification (微信人脸核身): the server asks WeChat for a
// verify id for a name and ID number (getVerifyId), the mini-program runs
// wx.requestFacialVerify with it, and the server reads the result
// (queryVerifyInfo). Only the server-side answer counts: the mini-program's
// success callback can be forged.
const (
	getVerifyIDURL     = "https://" + libraryHost + "/cityservice/face/identify/getverifyid"
	queryVerifyInfoURL = "https://" + libraryHost + "/cityservice/face/identify/queryverifyinfo"

	// CertTypeIDCard is the cert_type of a resident identity card.
	CertTypeIDCard = "IDENTITY_CARD"
	// FacePassed is queryVerifyInfo's verify_ret for a check that passed;
	// every other value (cancelled, timed out, no match) is a failure.
	FacePassed = 10000
	// DefaultVerifyIDLifetime is how long WeChat keeps a verify id when
	// its answer does not say.
	DefaultVerifyIDLifetime = time.Hour
)

// FaceCheck names the person a face verification is for and the WeChat
// user who will run it. OutSeqNo is the caller's serial number, 5..32 of
// [A-Za-z0-9_-] and unique per app; the query must repeat it.
type FaceCheck struct {
	OpenID   string
	OutSeqNo string
	CertName string
	CertNo   string
}

// CertHash is queryVerifyInfo's cert_hash: the lower-case hex SHA-256 of
// "cert_type=B64&cert_name=B64&cert_no=B64", each value in standard base64.
func (f FaceCheck) CertHash() string {
	b64 := base64.StdEncoding.EncodeToString
	sum := sha256.Sum256([]byte("cert_type=" + b64([]byte(CertTypeIDCard)) +
		"&cert_name=" + b64([]byte(f.CertName)) + "&cert_no=" + b64([]byte(f.CertNo))))
	return hex.EncodeToString(sum[:])
}

type certInfo struct {
	CertType string `json:"cert_type"`
	CertName string `json:"cert_name"`
	CertNo   string `json:"cert_no"`
}

// StartFaceCheck is getVerifyId: it returns the verify id the mini-program
// passes to wx.requestFacialVerify and how long it stays usable. The
// sandbox has no face verification (its face results are the simulator's
// face tokens), so it refuses.
func (c *Client) StartFaceCheck(ctx context.Context, f FaceCheck) (verifyID string, lifetime time.Duration, err error) {
	if c.sandbox && !c.live {
		return "", 0, invalidCode("the sandbox has no face verification: its face results are face tokens")
	}
	if !codeLike(f.OpenID, 1, 128) || !codeLike(f.OutSeqNo, 5, 32) || f.CertName == "" || f.CertNo == "" {
		return "", 0, invalidCode("face check needs an openid, a 5..32 character serial number, a name and an ID number")
	}
	body := struct {
		OutSeqNo string   `json:"out_seq_no"`
		CertInfo certInfo `json:"cert_info"`
		OpenID   string   `json:"openid"`
	}{f.OutSeqNo, certInfo{CertTypeIDCard, f.CertName, f.CertNo}, f.OpenID}
	var res struct {
		util.CommonError
		VerifyID  string `json:"verify_id"`
		ExpiresIn int64  `json:"expires_in"`
	}
	defer c.called(apiGetVerifyID, &err)
	if err := c.postFace(ctx, getVerifyIDURL, apiGetVerifyID, body, &res); err != nil {
		return "", 0, c.translate(apiGetVerifyID, 0, "", err, f.OpenID, f.CertName, f.CertNo)
	}
	if res.VerifyID == "" || len(res.VerifyID) > 256 {
		return "", 0, unavailable(apiGetVerifyID, "answer without a usable verify_id")
	}
	lifetime = time.Duration(res.ExpiresIn) * time.Second
	if lifetime <= 0 || lifetime > DefaultVerifyIDLifetime {
		lifetime = DefaultVerifyIDLifetime
	}
	return res.VerifyID, lifetime, nil
}

// FaceResult is queryVerifyInfo: WeChat checks that the verify id, serial
// number, cert_hash and openid all belong together and answers the check's
// verify_ret (FacePassed when it passed).
func (c *Client) FaceResult(ctx context.Context, verifyID string, f FaceCheck) (verifyRet int64, err error) {
	if verifyID == "" || len(verifyID) > 256 || !codeLike(f.OpenID, 1, 128) || !codeLike(f.OutSeqNo, 5, 32) {
		return 0, invalidCode("face result needs a verify id, an openid and a serial number")
	}
	body := struct {
		VerifyID string `json:"verify_id"`
		OutSeqNo string `json:"out_seq_no"`
		CertHash string `json:"cert_hash"`
		OpenID   string `json:"openid"`
	}{verifyID, f.OutSeqNo, f.CertHash(), f.OpenID}
	var res struct {
		util.CommonError
		VerifyRet int64 `json:"verify_ret"`
	}
	defer c.called(apiQueryVerifyInfo, &err)
	if err := c.postFace(ctx, queryVerifyInfoURL, apiQueryVerifyInfo, body, &res); err != nil {
		return 0, c.translate(apiQueryVerifyInfo, 0, "", err, f.OpenID, verifyID)
	}
	return res.VerifyRet, nil
}

// postFace posts body with the shared access token through the library's
// HTTP helpers (routed to APIBase) and decodes WeChat's answer into out,
// renewing the token once when WeChat refused it.
func (c *Client) postFace(ctx context.Context, endpoint, api string, body, out any) error {
	if !c.live {
		return errors.New("no mini-program credentials")
	}
	ctx = c.route.attach(ctx)
	return c.retryStale(ctx, func() error {
		tok, err := c.tokens.GetAccessTokenContext(ctx)
		if err != nil {
			return err
		}
		raw, err := util.PostJSONContext(ctx, endpoint+"?access_token="+url.QueryEscape(tok), body)
		if err != nil {
			return err
		}
		return util.DecodeWithError(raw, out, api)
	})
}

// Sandbox reports whether the client accepts sandbox codes; identity uses
// it to accept the simulator's face tokens as face results.
func (c *Client) Sandbox() bool { return c.sandbox }

// errFaceInvalidID is WeChat's 84001, "invalid identify id": the verify id
// is unknown, expired, or not for this openid, serial number and person.
const errFaceInvalidID = 84001

// FaceResultRefused reports whether err is WeChat refusing a verify id
// (84001) rather than failing: the face result is the caller's to redo.
func FaceResultRefused(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.ErrCode == errFaceInvalidID
}
