package wechattest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"
)

// Face verification errcodes the fake answers. WeChat's 84001 is "invalid
// identify id"; the fake also gives it for a verify id whose openid, serial
// number or cert_hash differ from getVerifyId's, or that has expired.
const (
	errFaceInvalidID = 84001
	// FacePassed is verify_ret for a check that passed.
	FacePassed = 10000
	// FaceCancelled is verify_ret for a check the user never finished
	// (90002, "用户取消"): what a verify id answers until CompleteFace.
	FaceCancelled = 90002
)

// face is one verify id the fake handed out.
type face struct {
	openid, outSeqNo, certHash string
	certName, certNo           string
	ret                        int64
	expires                    time.Time
}

// FaceCheck is what getVerifyId was asked, for tests to inspect.
type FaceCheck struct {
	OpenID   string
	CertName string
	CertNo   string
}

// CompleteFace records the outcome of the mini-program's
// wx.requestFacialVerify for verifyID: FacePassed, or a failure such as
// 90011 (人脸数据采集无效). It reports whether the verify id exists.
func (s *Server) CompleteFace(verifyID string, verifyRet int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.faces[verifyID]
	if ok {
		f.ret = verifyRet
	}
	return ok
}

// FaceCheckFor returns who a verify id was issued for.
func (s *Server) FaceCheckFor(verifyID string) (FaceCheck, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.faces[verifyID]
	if !ok {
		return FaceCheck{}, false
	}
	return FaceCheck{OpenID: f.openid, CertName: f.certName, CertNo: f.certNo}, true
}

// SetFaceLifetime sets the expires_in of verify ids issued from now on
// (an hour, as WeChat's default, until set).
func (s *Server) SetFaceLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faceLife = d
}

// certHash is WeChat's cert_hash of a cert_info.
func certHash(certType, name, no string) string {
	b64 := base64.StdEncoding.EncodeToString
	sum := sha256.Sum256([]byte("cert_type=" + b64([]byte(certType)) + "&cert_name=" + b64([]byte(name)) + "&cert_no=" + b64([]byte(no))))
	return hex.EncodeToString(sum[:])
}

func (s *Server) verifyID(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OutSeqNo string `json:"out_seq_no"`
		CertInfo struct {
			CertType string `json:"cert_type"`
			CertName string `json:"cert_name"`
			CertNo   string `json:"cert_no"`
		} `json:"cert_info"`
		OpenID string `json:"openid"`
	}
	if !s.lockedJSON(w, r, &req) {
		return
	}
	defer s.mu.Unlock()
	c := req.CertInfo
	if req.OpenID == "" || len(req.OutSeqNo) < 5 || len(req.OutSeqNo) > 32 || c.CertType != "IDENTITY_CARD" || c.CertName == "" || c.CertNo == "" {
		writeError(w, 47001)
		return
	}
	id := "vid_" + randomHex(16)
	s.faces[id] = &face{openid: req.OpenID, outSeqNo: req.OutSeqNo, certHash: certHash(c.CertType, c.CertName, c.CertNo),
		certName: c.CertName, certNo: c.CertNo, ret: FaceCancelled, expires: time.Now().Add(s.faceLife)}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "verify_id": id, "expires_in": int64(s.faceLife / time.Second)})
}

func (s *Server) verifyInfo(w http.ResponseWriter, r *http.Request) {
	var req struct {
		VerifyID string `json:"verify_id"`
		OutSeqNo string `json:"out_seq_no"`
		CertHash string `json:"cert_hash"`
		OpenID   string `json:"openid"`
	}
	if !s.lockedJSON(w, r, &req) {
		return
	}
	defer s.mu.Unlock()
	f, ok := s.faces[req.VerifyID]
	if !ok || f.openid != req.OpenID || f.outSeqNo != req.OutSeqNo || f.certHash != req.CertHash || time.Now().After(f.expires) {
		writeError(w, errFaceInvalidID)
		return
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "verify_ret": f.ret})
}
