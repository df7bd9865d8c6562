package coresim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/core"
)

func TestEmployerEndpoints(t *testing.T) {
	h := newHarness(t)
	units := map[string][]string{
		h.persona("黄磊").UnitCode:  {"张伟", "李娜", "欧阳晓峰", "王芳", "吴敏", "林晓𪚥"},
		h.persona("郑秀英").UnitCode: {"刘洋", "孙丽", "周强", "赵建国"},
	}
	for _, op := range []string{"黄磊", "郑秀英"} {
		p := h.persona(op)
		resp, b := h.request(http.MethodPost, core.PathOperatorAuth, core.OperatorLogin{UnitCode: p.UnitCode, OperatorID: p.OperatorID, Password: p.Password}, signing{})
		var got core.Operator
		json.Unmarshal(b, &got)
		if want := (core.Operator{UnitCode: p.UnitCode, OperatorID: p.OperatorID, Name: op, Role: core.OperatorAdmin}); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("operator %s: %d %+v", op, resp.StatusCode, got)
		}
		for _, wrong := range []core.OperatorLogin{
			{UnitCode: p.UnitCode, OperatorID: p.OperatorID, Password: p.Password + "x"},
			{UnitCode: p.UnitCode, OperatorID: "nobody", Password: p.Password},
			{UnitCode: "91330106MA2GL3K700", OperatorID: p.OperatorID, Password: p.Password},
		} {
			resp, b := h.request(http.MethodPost, core.PathOperatorAuth, wrong, signing{})
			wantError(t, resp, b, http.StatusUnauthorized, core.ErrBadCredentials)
		}

		var u core.Unit
		h.get(path(core.PathUnit, p.UnitCode), &u)
		if u.UnitCode != p.UnitCode || u.StaffCount != len(units[p.UnitCode]) || u.PaidUpTo != "2026-10" || u.Status != "01" {
			t.Errorf("unit %+v", u)
		}
		var names []string
		for cursor := ""; ; {
			var page core.StaffPage
			q := "?limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			h.get(path(core.PathStaff, p.UnitCode)+q, &page)
			for _, m := range page.Items {
				names = append(names, m.Name)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if diff := cmp.Diff(units[p.UnitCode], names); diff != "" {
			t.Errorf("staff of %s (-want +got):\n%s", p.UnitCode, diff)
		}
	}
	resp, b := h.request(http.MethodGet, path(core.PathUnit, "91330106MA2GL3K700"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
	resp, b = h.request(http.MethodGet, path(core.PathStaff, "91330106MA2GL3K700"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
}
