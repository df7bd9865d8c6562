package staffsite

import (
	"fmt"
	"strconv"

	"handheld/services/supervision"
)

// chart is an SVG bar chart worked out on the server: the template draws
// each bar as a rect with a title (the exact figure, read by screen
// readers and shown on hover); the page shows the same figures in a table
// beside it.
type chart struct {
	Width, Height int
	Bars          []bar
	Ticks         []tick // y-axis labels
	Max           int64
}

type bar struct {
	X, Y, W, H int
	Label      string // under the bar (x axis); "" for none
	Title      string // the bar's figure
	Class      string // bar, fail
	LabelX     int
}

type tick struct {
	Y     int
	Label string
}

const (
	chartLeft   = 40
	chartTop    = 10
	chartBottom = 24
)

// scale maps v onto at most h pixels against max.
func scale(v, max int64, h int) int {
	if max <= 0 || v <= 0 {
		return 0
	}
	return int((v*int64(h) + max - 1) / max)
}

func ticks(max int64, h int) []tick {
	if max <= 0 {
		return []tick{{Y: chartTop + h, Label: "0"}}
	}
	var out []tick
	for i := int64(0); i <= 4; i++ {
		v := max * i / 4
		out = append(out, tick{Y: chartTop + h - scale(v, max, h), Label: strconv.FormatInt(v, 10)})
	}
	return out
}

// hoursChart is the records per hour of the day.
func hoursChart(d supervision.Dashboard) chart {
	const w, h, bw = 720, 160, 24
	c := chart{Width: w, Height: h + chartTop + chartBottom}
	for _, v := range d.Hours {
		c.Max = max(c.Max, v)
	}
	for i, v := range d.Hours {
		bh := scale(v, c.Max, h)
		x := chartLeft + i*(bw+4)
		b := bar{X: x, Y: chartTop + h - bh, W: bw, H: bh, Title: fmt.Sprintf("%02d:00 %d", i, v), Class: "bar", LabelX: x + bw/2}
		if i%3 == 0 {
			b.Label = fmt.Sprintf("%02d", i)
		}
		c.Bars = append(c.Bars, b)
	}
	c.Ticks = ticks(c.Max, h)
	return c
}

// coreChart is the core's calls per hour, the failed part drawn over the
// bar in the failure colour.
func coreChart(d supervision.Dashboard) chart {
	const w, h, bw = 720, 120, 24
	c := chart{Width: w, Height: h + chartTop + chartBottom}
	for _, v := range d.CoreHours {
		c.Max = max(c.Max, v.Calls)
	}
	for i, v := range d.CoreHours {
		x := chartLeft + i*(bw+4)
		bh := scale(v.Calls, c.Max, h)
		b := bar{X: x, Y: chartTop + h - bh, W: bw, H: bh, Title: fmt.Sprintf("%02d:00 %d / %d", i, v.Calls, v.Failures), Class: "bar", LabelX: x + bw/2}
		if i%3 == 0 {
			b.Label = fmt.Sprintf("%02d", i)
		}
		c.Bars = append(c.Bars, b)
		if fh := scale(v.Failures, c.Max, h); fh > 0 {
			c.Bars = append(c.Bars, bar{X: x, Y: chartTop + h - fh, W: bw, H: fh, Title: fmt.Sprintf("%02d:00 %d", i, v.Failures), Class: "fail"})
		}
	}
	c.Ticks = ticks(c.Max, h)
	return c
}

// servicesChart is a horizontal bar per service: ok, then denied, then
// error, stacked.
func servicesChart(d supervision.Dashboard, name func(string) string) chart {
	const w, rowH, labelW = 720, 22, 140
	c := chart{Width: w, Height: max(1, len(d.Services))*rowH + chartTop}
	for _, v := range d.Services {
		c.Max = max(c.Max, v.Total)
	}
	span := w - labelW - 60
	for i, v := range d.Services {
		y := chartTop + i*rowH
		x := labelW
		for _, part := range []struct {
			n     int64
			class string
		}{{v.OK, "bar"}, {v.Denied, "denied"}, {v.Error, "fail"}} {
			pw := scale(part.n, c.Max, span)
			if pw == 0 {
				continue
			}
			c.Bars = append(c.Bars, bar{X: x, Y: y, W: pw, H: rowH - 6, Class: part.class,
				Title: fmt.Sprintf("%s %d", name(v.Service), part.n)})
			x += pw
		}
		c.Ticks = append(c.Ticks, tick{Y: y + rowH - 10, Label: name(v.Service) + " " + strconv.FormatInt(v.Total, 10)})
	}
	return c
}
