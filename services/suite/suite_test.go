package suite_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/emmansun/gmsm/sm4"

	"handheld/services/suite"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]suite.Suite{"": suite.Intl, "intl": suite.Intl, "sm": suite.SM} {
		if got, err := suite.Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"SM", "gm", "intl ", "aes"} {
		if _, err := suite.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// The standards' own examples: SM3("abc") from GB/T 32905 and the SM4
// block of GB/T 32907, so the sm suite is the national one, not a
// look-alike.
func TestKnownAnswers(t *testing.T) {
	if got := suite.SM.Sum([]byte("abc")); hex.EncodeToString(got[:]) != "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" {
		t.Errorf("SM3(abc) = %x", got)
	}
	if got := suite.Intl.Sum([]byte("abc")); hex.EncodeToString(got[:]) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("SHA-256(abc) = %x", got)
	}
	key, _ := hex.DecodeString("0123456789abcdeffedcba9876543210")
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	block.Encrypt(out, key)
	if hex.EncodeToString(out) != "681edf34d206965e86b3e94f536e4246" {
		t.Errorf("SM4 = %x", out)
	}
	if suite.SM.Hash().Size() != 32 || suite.SM.MAC(key).Size() != 32 || suite.Intl.MAC(key).Size() != 32 {
		t.Error("hash sizes")
	}
}

func TestAEAD(t *testing.T) {
	for _, s := range suite.All() {
		t.Run(s.String(), func(t *testing.T) {
			key := bytes.Repeat([]byte{7}, s.KeySize())
			a, err := s.AEAD(key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AEAD(key[1:]); err == nil {
				t.Fatal("a short key accepted")
			}
			plain, ad := []byte("330106198503124133"), []byte("place")
			one := a.Seal(nil, nil, plain, ad)
			two := a.Seal([]byte("hs1."), nil, plain, ad)
			if len(one) != len(plain)+a.Overhead() || bytes.Equal(one, two[4:]) || string(two[:4]) != "hs1." {
				t.Fatalf("sealed %x and %x: the nonce is not fresh or the prefix was lost", one, two)
			}
			if got, err := a.Open(nil, nil, one, ad); err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("Open = %q, %v", got, err)
			}
			if _, err := a.Open(nil, nil, one, []byte("elsewhere")); err == nil {
				t.Fatal("opened under other additional data")
			}
			for i := range one {
				bad := bytes.Clone(one)
				bad[i] ^= 1
				if _, err := a.Open(nil, nil, bad, ad); err == nil {
					t.Fatalf("opened with byte %d flipped", i)
				}
			}
			if _, err := a.Open(nil, nil, one[:10], ad); err == nil {
				t.Fatal("opened a cut value")
			}
		})
	}
}
