package e2e

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"handheld/bff/employer"
)

// upload is a bulk file request: the file and its kind as multipart, with
// the token and Idempotency-Key.
func upload(tok, key, kind, filename string, file []byte) ([]byte, http.Header) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("kind", kind)
	part, _ := w.CreateFormFile("file", filename)
	_, _ = part.Write(file)
	_ = w.Close()
	h := idempotent(tok, key)
	h.Set("Content-Type", w.FormDataContentType())
	h.Set("Accept-Language", "en")
	return b.Bytes(), h
}

// followJob polls a job until it is done.
func (e *env) followJob(tok, id string) employer.JobBody {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.do("GET", "/api/v1/employer/jobs/"+id, nil, bearer(tok))
		if r.StatusCode != 200 {
			e.t.Fatalf("job %s: %d %s", id, r.StatusCode, r.body)
		}
		var v employer.JobBody
		r.json(e.t, &v)
		if v.Status == "done" {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s not done: %+v", id, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEmployerBulkJoinFile(t *testing.T) {
	e := start(t)
	shop := e.unitOperator("shop01")
	yunqi := e.unitOperator("yunqi01")
	shopTok := e.loginEmployer(shop).AccessToken
	yunqiTok := e.loginEmployer(yunqi).AccessToken
	member := e.roster(shop.UnitCode)[0]
	month := time.Now().Format("2006-01")

	// The clerk starts from the template.
	r := e.do("GET", "/api/v1/employer/jobs/templates/join.csv", nil, bearer(shopTok))
	if r.StatusCode != 200 || !strings.HasPrefix(string(r.body), "\xEF\xBB\xBF姓名,身份证号") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("template: %d %q %s", r.StatusCode, r.body, r.Header.Get("Content-Type"))
	}
	if r := e.do("GET", "/api/v1/employer/jobs/templates/base.xlsx", nil, bearer(shopTok)); r.StatusCode != 200 || !bytes.HasPrefix(r.body, []byte("PK")) {
		t.Fatalf("xlsx template: %d", r.StatusCode)
	}
	wantProblem(t, e.bad().do("GET", "/api/v1/employer/jobs/templates/transfer.csv", nil, bearer(shopTok)), 404, "job.not_found")

	// A file saved by Excel on a Chinese Windows: GBK, CRLF, Chinese
	// header. Three good lines, two bad cells, one person already on the
	// staff (refused by the same check as a single join).
	good := []string{withCheck("33010619960101101"), withCheck("33010619960101102"), withCheck("33010619960101103")}
	badDigit := withCheck("33010619960101104")
	badDigit = badDigit[:17] + map[bool]string{true: "1", false: "0"}[badDigit[17] == '0']
	lines := []string{
		"姓名,身份证号,缴存基数（分）,起缴月份",
		"钱一," + good[0] + ",500000," + month,
		"钱二," + badDigit + ",500000," + month,
		"\"=HYPERLINK(\"\"http://x\"\")\"," + withCheck("33010619960101105") + ",500000," + month,
		member.Name + "," + member.IDNumber + ",500000," + month,
		"钱三," + good[1] + ",500000," + month,
		"钱四," + good[2] + ",500000," + month,
	}
	file, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(strings.Join(lines, "\r\n") + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	body, h := upload(shopTok, "bulk-1", "join", "新员工.csv", file)
	r = e.do("POST", "/api/v1/employer/jobs", body, h)
	if r.StatusCode != 202 {
		t.Fatalf("upload: %d %s", r.StatusCode, r.body)
	}
	var job employer.JobBody
	r.json(t, &job)
	if job.Total != 6 || job.Failed != 2 || r.Header.Get("Location") != "/api/v1/employer/jobs/"+job.ID {
		t.Fatalf("upload answer: %s (Location %q)", r.body, r.Header.Get("Location"))
	}
	// The same key and file: the same job.
	r = e.do("POST", "/api/v1/employer/jobs", body, h)
	var again employer.JobBody
	r.json(t, &again)
	if r.StatusCode != 202 || again.ID != job.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", r.StatusCode, r.body)
	}

	done := e.followJob(shopTok, job.ID)
	if done.Processed != 6 || done.Failed != 3 || done.FinishedAt == "" {
		t.Fatalf("done: %+v", done)
	}

	// The report: line, column, code, message in the caller's language,
	// the value masked and neutralized.
	h = bearer(shopTok)
	h.Set("Accept-Language", "en")
	r = e.do("GET", done.ErrorsURL, nil, h)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("report: %d %s", r.StatusCode, r.body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, row := range rows[1:] {
		got = append(got, strings.Join(row[:3], " "))
	}
	if want := "3 id_number checksum|4 name formula|5  staff.already_employed"; strings.Join(got, "|") != want {
		t.Fatalf("report lines %q, want %q\n%s", strings.Join(got, "|"), want, r.body)
	}
	if rows[0][0] != "line" || rows[1][3] != "ID number has a wrong check character" || strings.Contains(string(r.body), badDigit) {
		t.Errorf("report header or message: %q %q (the ID number masked)", rows[0], rows[1])
	}
	if !strings.HasPrefix(rows[2][4], "'=") {
		t.Errorf("formula cell not neutralized: %q", rows[2][4])
	}

	// The good lines are staff changes, delivered to the core.
	deadline := time.Now().Add(60 * time.Second)
	for {
		joined := 0
		for _, m := range e.roster(shop.UnitCode) {
			for _, id := range good {
				if m.IDNumber == id {
					joined++
				}
			}
		}
		if joined == len(good) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d joined at the core", joined, len(good))
		}
		time.Sleep(200 * time.Millisecond)
	}
	r = e.do("GET", "/api/v1/employer/staff-changes?limit=100", nil, bearer(shopTok))
	var list employer.StaffChangeListBody
	r.json(t, &list)
	joins := 0
	for _, c := range list.Items {
		if c.Kind == "join" {
			joins++
		}
	}
	if joins != len(good) {
		t.Fatalf("%d joins listed, want %d: %s", joins, len(good), r.body)
	}

	// Another unit reaches neither the job nor its report.
	wantProblem(t, e.do("GET", "/api/v1/employer/jobs/"+job.ID, nil, bearer(yunqiTok)), 404, "job.not_found")
	wantProblem(t, e.do("GET", "/api/v1/employer/jobs/"+job.ID+"/errors", nil, bearer(yunqiTok)), 404, "job.not_found")
	wantProblem(t, e.bad().do("GET", "/api/v1/employer/jobs/job_..%2Fx", nil, bearer(shopTok)), 404, "job.not_found")
}

func TestEmployerBulkFileAttacks(t *testing.T) {
	e := start(t)
	shop := e.unitOperator("shop01")
	tok := e.loginEmployer(shop).AccessToken
	good := []byte("staff_id,base_fen\nP1,500000\n")

	cases := []struct {
		name   string
		status int
		code   string
		req    func() ([]byte, http.Header)
	}{
		{"no Idempotency-Key", 400, "idempotency.key_missing", func() ([]byte, http.Header) {
			b, h := upload(tok, "x", "base", "a.csv", good)
			h.Del("Idempotency-Key")
			return b, h
		}},
		{"JSON, not multipart", 415, "request.unsupported_media_type", func() ([]byte, http.Header) {
			return []byte(`{"kind":"base"}`), idempotent(tok, "a2")
		}},
		{"no file", 400, "request.invalid", func() ([]byte, http.Header) {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			_ = w.WriteField("kind", "base")
			_ = w.Close()
			h := idempotent(tok, "a3")
			h.Set("Content-Type", w.FormDataContentType())
			return b.Bytes(), h
		}},
		{"unknown kind", 400, "request.invalid", func() ([]byte, http.Header) { return upload(tok, "a4", "transfer", "a.csv", good) }},
		{"an image", 415, "job.unsupported_file", func() ([]byte, http.Header) {
			return upload(tok, "a5", "base", "a.csv", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
		}},
		{"neither UTF-8 nor GBK", 400, "job.bad_encoding", func() ([]byte, http.Header) {
			return upload(tok, "a6", "base", "a.csv", []byte("staff_id,base_fen\nP\x81\x20,\xff\n"))
		}},
		{"wrong header", 400, "job.bad_header", func() ([]byte, http.Header) {
			return upload(tok, "a7", "base", "a.csv", []byte("staff_id,base\nP1,500000\n"))
		}},
		{"a broken workbook", 400, "job.malformed_file", func() ([]byte, http.Header) {
			return upload(tok, "a8", "base", "a.xlsx", []byte("PK\x03\x04broken"))
		}},
		{"over the policy's size", 413, "job.file_too_large", func() ([]byte, http.Header) {
			big := append([]byte("staff_id,base_fen\n"), bytes.Repeat([]byte("P1,500000\n"), (2<<20)/10+1)...)
			return upload(tok, "a9", "base", "a.csv", big)
		}},
		{"10,001 lines", 413, "job.too_many_rows", func() ([]byte, http.Header) {
			var b strings.Builder
			b.WriteString("staff_id,base_fen\n")
			for i := range 10_001 {
				fmt.Fprintf(&b, "P%d,500000\n", i)
			}
			return upload(tok, "a10", "base", "a.csv", []byte(b.String()))
		}},
	}
	for _, c := range cases {
		body, h := c.req()
		wantProblem(t, e.bad().do("POST", "/api/v1/employer/jobs", body, h), c.status, c.code)
	}
	// Nothing was stored: a good file under a used key is a new job.
	body, h := upload(tok, "a7", "base", "a.csv", good)
	if r := e.do("POST", "/api/v1/employer/jobs", body, h); r.StatusCode != 202 {
		t.Fatalf("good file after the refusals: %d %s", r.StatusCode, r.body)
	}
	// A depositor's token reaches none of it; nor does no token.
	dep := e.bindWeChat("o-bulk", e.persona("depositor", "李娜")).AccessToken
	body, h = upload(dep, "d1", "base", "a.csv", good)
	wantProblem(t, e.do("POST", "/api/v1/employer/jobs", body, h), 403, "auth.forbidden")
	body, h = upload(tok, "n1", "base", "a.csv", good)
	h.Del("Authorization")
	wantProblem(t, e.bad().do("POST", "/api/v1/employer/jobs", body, h), 401, "auth.token_missing")
	// Only the upload route reads past 64 KiB.
	e.wantTooLarge("/api/v1/employer/bases", idempotent(tok, "big"))
}
