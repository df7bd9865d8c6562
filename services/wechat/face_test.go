package wechat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/kv"
	"handheld/services/suite"
	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
)

// The cert_hash example of WeChat's queryVerifyInfo documentation.
func TestCertHashMatchesWeChatsExample(t *testing.T) {
	got := wechat.FaceCheck{CertName: "张三", CertNo: "310101199801011234"}.CertHash()
	if want := "3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b"; got != want {
		t.Fatalf("cert_hash %s, want %s", got, want)
	}
}

func TestFaceCheckRoundTrip(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	fc := wechat.FaceCheck{OpenID: "oFace0001", OutSeqNo: "fc-000001", CertName: "李娜", CertNo: "330105199007212626"}
	id, life, err := f.c.StartFaceCheck(ctx, fc)
	if err != nil {
		t.Fatal(err)
	}
	if life != time.Hour {
		t.Errorf("lifetime %v, want WeChat's expires_in of an hour", life)
	}
	who, ok := f.srv.FaceCheckFor(id)
	if !ok || who.OpenID != fc.OpenID || who.CertName != fc.CertName || who.CertNo != fc.CertNo {
		t.Fatalf("getverifyid was asked %+v", who)
	}
	ret, err := f.c.FaceResult(ctx, id, fc)
	if err != nil || ret != wechattest.FaceCancelled {
		t.Fatalf("before the check: %d, %v; want %d", ret, err, wechattest.FaceCancelled)
	}
	f.srv.CompleteFace(id, wechattest.FacePassed)
	if ret, err := f.c.FaceResult(ctx, id, fc); err != nil || ret != wechat.FacePassed {
		t.Fatalf("after the check: %d, %v", ret, err)
	}
	// WeChat ties the verify id to the openid and the person: asking for
	// another person's cert_hash or another openid is an error, not a pass.
	other := fc
	other.CertNo = "330106198503124133"
	if _, err := f.c.FaceResult(ctx, id, other); services.ErrorCode(err) != services.CodeWeChatUnavailable {
		t.Fatalf("another person's cert_hash: %v", err)
	}
	other = fc
	other.OpenID = "oSomeoneElse"
	_, err = f.c.FaceResult(ctx, id, other)
	if services.ErrorCode(err) != services.CodeWeChatUnavailable || !strings.Contains(err.Error(), "84001") {
		t.Fatalf("another openid: %v", err)
	}
	if strings.Contains(err.Error(), "oSomeoneElse") {
		t.Errorf("the error quotes the openid: %v", err)
	}
}

func TestFaceCheckRenewsAStaleToken(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	fc := wechat.FaceCheck{OpenID: "oFace0002", OutSeqNo: "fc-000002", CertName: "张伟", CertNo: "330106198503124133"}
	if _, _, err := f.c.StartFaceCheck(ctx, fc); err != nil {
		t.Fatal(err)
	}
	f.srv.ExpireToken()
	if _, _, err := f.c.StartFaceCheck(ctx, fc); err != nil {
		t.Fatalf("after the token expired: %v", err)
	}
}

func TestFaceCheckRefusesBadInputBeforeCallingWeChat(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for name, fc := range map[string]wechat.FaceCheck{
		"openid with a slash": {OpenID: "o/../x", OutSeqNo: "fc-000003", CertName: "张伟", CertNo: "330106198503124133"},
		"short serial":        {OpenID: "oFace0003", OutSeqNo: "fc", CertName: "张伟", CertNo: "330106198503124133"},
		"no name":             {OpenID: "oFace0003", OutSeqNo: "fc-000003", CertNo: "330106198503124133"},
	} {
		if _, _, err := f.c.StartFaceCheck(ctx, fc); services.ErrorCode(err) != services.CodeWeChatInvalidCode {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := f.srv.Calls(wechattest.VerifyID); n != 0 {
		t.Errorf("%d calls reached WeChat", n)
	}
}

func TestSandboxHasNoFaceVerification(t *testing.T) {
	c, err := wechat.New(wechat.Config{Sandbox: true}, kv.NewMemory(time.Now, services.NewHashKey(kvSecret, suite.Env())))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.StartFaceCheck(context.Background(), wechat.FaceCheck{OpenID: "oFace0004", OutSeqNo: "fc-000004", CertName: "张伟", CertNo: "330106198503124133"})
	if services.ErrorCode(err) != services.CodeWeChatInvalidCode || !c.Sandbox() {
		t.Fatalf("sandbox face check: %v", err)
	}
}
