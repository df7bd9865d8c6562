package wechattest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// errmsg is WeChat's text for an errcode tests use; WeChat appends a
// request id ("rid") to each.
func errmsg(errcode int64) string {
	switch errcode {
	case -1:
		return "system error"
	case 40001:
		return "invalid credential, access_token is invalid or not latest"
	case 40002:
		return "invalid grant_type"
	case 40003:
		return "invalid openid"
	case 40013:
		return "invalid appid"
	case 40029:
		return "invalid code"
	case 40037:
		return "invalid template_id"
	case 40125:
		return "invalid appsecret"
	case 40163:
		return "code been used"
	case 42001:
		return "access_token expired"
	case 43101:
		return "user refuse to accept the msg"
	case 45011:
		return "api minute-quota reach limit  mustslower  retry next minute"
	case 47001:
		return "data format error"
	case errFaceInvalidID:
		return "invalid identify id"
	}
	return "fake error"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers as WeChat does: HTTP 200 with errcode and errmsg.
func writeError(w http.ResponseWriter, errcode int64) {
	writeJSON(w, map[string]any{
		"errcode": errcode,
		"errmsg":  fmt.Sprintf("%s rid: %s-%s", errmsg(errcode), randomHex(4), randomHex(4)),
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("js_code")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case q.Get("appid") != s.AppID:
		writeError(w, 40013)
	case q.Get("secret") != s.AppSecret:
		writeError(w, 40125)
	case q.Get("grant_type") != "authorization_code":
		writeError(w, 40002)
	case s.used[code]:
		writeError(w, 40163)
	default:
		who, ok := s.logins[code]
		if !ok {
			writeError(w, 40029)
			return
		}
		s.used[code] = true
		answer := map[string]any{"openid": who.openid, "session_key": randomHex(12)}
		if who.unionid != "" {
			answer["unionid"] = who.unionid
		}
		writeJSON(w, answer)
	}
}

func (s *Server) stableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, 47001) // data format error
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case req.GrantType != "client_credential":
		writeError(w, 40002)
	case req.AppID != s.AppID:
		writeError(w, 40013)
	case req.Secret != s.AppSecret:
		writeError(w, 40125)
	default:
		if s.token == "" || req.ForceRefresh {
			s.token = "fake-token-" + randomHex(16)
		}
		writeJSON(w, map[string]any{"access_token": s.token, "expires_in": int64(TokenLifetime / time.Second)})
	}
}

// tokenOK answers 40001 and reports false unless the request carries the
// token in force; callers hold mu.
func (s *Server) tokenOK(w http.ResponseWriter, r *http.Request) bool {
	if tok := r.URL.Query().Get("access_token"); tok == "" || tok != s.token {
		writeError(w, 40001)
		return false
	}
	return true
}

// lockedJSON decodes the body into v and takes mu for a request with the
// token in force. When it reports false it has answered (47001, 40001)
// and holds no lock; otherwise the caller unlocks.
func (s *Server) lockedJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, 47001)
		return false
	}
	s.mu.Lock()
	if !s.tokenOK(w, r) {
		s.mu.Unlock()
		return false
	}
	return true
}

func (s *Server) phone(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tokenOK(w, r) {
		return
	}
	phone, ok := s.phones[req.Code]
	if !ok {
		writeError(w, 40029)
		return
	}
	writeJSON(w, map[string]any{
		"errcode": 0,
		"errmsg":  "ok",
		"phone_info": map[string]any{
			"phoneNumber":     phone,
			"purePhoneNumber": phone,
			"countryCode":     "86",
			"watermark":       map[string]any{"timestamp": time.Now().Unix(), "appid": s.AppID},
		},
	})
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ToUser     string                         `json:"touser"`
		TemplateID string                         `json:"template_id"`
		Page       string                         `json:"page"`
		Lang       string                         `json:"lang"`
		Data       map[string]struct{ Value any } `json:"data"`
	}
	if !s.lockedJSON(w, r, &req) {
		return
	}
	defer s.mu.Unlock()
	switch {
	case req.ToUser == "":
		writeError(w, 40003)
	case req.TemplateID == "":
		writeError(w, 40037)
	default:
		msg := Sent{ToOpenID: req.ToUser, TemplateID: req.TemplateID, Page: req.Page, Lang: req.Lang, Data: map[string]string{}}
		for k, v := range req.Data {
			msg.Data[k] = fmt.Sprint(v.Value)
		}
		s.sent = append(s.sent, msg)
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": len(s.sent)})
	}
}
