package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/services/coresim"
)

var personas = []coresim.Persona{
	{Role: "depositor", Name: "张伟", IDNumber: "330106198503124133", Notes: "normal account"},
	{Role: "employer", UnitCode: "91330106MA2GL3K72J", OperatorID: "minghu01", Password: "Minghu@2024", Notes: "operator"},
}

// On a terminal the banner lists the personas' logins; anywhere else
// (a file, a pipe, a log collector) it names `handheld demo` in one line
// and prints no name, ID number or password.
func TestWelcomeShowsPersonasOnlyOnATerminal(t *testing.T) {
	secrets := []string{"张伟", "330106198503124133", "Minghu@2024"}

	var tty bytes.Buffer
	printWelcome(&tty, "http://127.0.0.1:8080", "http://127.0.0.1:8081/kiosk/", time.Second, personas, true)
	for _, s := range secrets {
		if !strings.Contains(tty.String(), s) {
			t.Errorf("terminal banner lacks %q:\n%s", s, tty.String())
		}
	}

	var piped bytes.Buffer
	printWelcome(&piped, "http://127.0.0.1:8080", "http://127.0.0.1:8081/kiosk/", time.Second, personas, false)
	for _, s := range secrets {
		if strings.Contains(piped.String(), s) {
			t.Errorf("non-terminal banner holds %q:\n%s", s, piped.String())
		}
	}
	lines := 0
	for _, l := range strings.Split(piped.String(), "\n") {
		if strings.Contains(l, "handheld demo") {
			lines++
		}
	}
	for _, out := range []string{tty.String(), piped.String()} {
		if !strings.Contains(out, "kiosk screen: open http://127.0.0.1:8081/kiosk/") {
			t.Errorf("banner without the kiosk screen:\n%s", out)
		}
	}
	if lines != 1 || !strings.Contains(piped.String(), "ready on http://127.0.0.1:8080") {
		t.Errorf("non-terminal banner: want the ready line and one line naming `handheld demo`:\n%s", piped.String())
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
}
