package mask

import (
	"strings"
	"unicode"
)

// compoundSurnames are the two-character surnames (复姓) common enough to
// appear at a centre, in simplified and traditional forms. A name that
// starts with one keeps both characters: 欧阳晓峰 → 欧阳**, not 欧***.
// The table is read-only.
var compoundSurnames = map[string]bool{
	"欧阳": true, "司马": true, "上官": true, "诸葛": true, "东方": true, "皇甫": true,
	"尉迟": true, "公孙": true, "慕容": true, "长孙": true, "宇文": true, "司徒": true,
	"夏侯": true, "令狐": true, "端木": true, "独孤": true, "轩辕": true, "西门": true,
	"南宫": true, "百里": true, "呼延": true, "澹台": true, "公冶": true, "宗政": true,
	"濮阳": true, "淳于": true, "单于": true, "太叔": true, "申屠": true, "仲孙": true,
	"钟离": true, "闻人": true, "万俟": true, "赫连": true, "东郭": true, "南门": true,
	"羊舌": true, "微生": true, "公羊": true, "梁丘": true, "左丘": true, "第五": true,
	"拓跋": true, "司空": true, "亓官": true, "司寇": true, "子车": true, "颛孙": true,
	"壤驷": true, "公良": true, "漆雕": true, "乐正": true, "宰父": true, "谷梁": true,
	"段干": true, "东门": true, "公西": true, "鲜于": true, "闾丘": true, "巫马": true,
	"完颜": true, "耶律": true,
	// Traditional forms, as Hong Kong, Macao and Taiwan residents write them.
	"歐陽": true, "司馬": true, "諸葛": true, "東方": true, "尉遲": true, "公孫": true,
	"長孫": true, "獨孤": true, "軒轅": true, "南宮": true, "鍾離": true, "聞人": true,
	"東郭": true, "顓孫": true, "漆彫": true, "樂正": true, "穀梁": true, "閭丘": true,
}

// name keeps the surname (one character, or two for a compound surname)
// and hides the rest; partial also keeps the last character. A name of one
// character is hidden whole. Separators inside a name (the middle dot of
// 买买提·艾力, a space between Latin names) stay, so the shape reads as a
// name; they are not personal data.
func name(value string, partial bool) string {
	r := []rune(strings.TrimSpace(value))
	n := len(r)
	if n <= 1 {
		return stars(n)
	}
	surname := 1
	if n >= 3 && compoundSurnames[string(r[:2])] {
		surname = 2
	}
	var b strings.Builder
	for i, c := range r {
		switch {
		case i < surname, partial && i == n-1 && n-surname >= 2, nameSeparator(c):
			b.WriteRune(c)
		default:
			b.WriteByte('*')
		}
	}
	return b.String()
}

// nameSeparator reports the characters that join the parts of a name.
func nameSeparator(c rune) bool {
	switch c {
	case '·', '•', '・', '．', '.', '-':
		return true
	}
	return unicode.IsSpace(c)
}

// phone keeps the first three and last four digits of a mobile number
// (138****5678). Spaces, hyphens and a +86 / 0086 country prefix are
// dropped first, so that the same number always masks alike.
func phone(value string) string {
	d := compact(value)
	for _, prefix := range []string{"+86", "0086"} {
		if rest, ok := strings.CutPrefix(d, prefix); ok && len(rest) == 11 {
			d = rest
		}
	}
	return keep(d, 3, 4)
}

// card shows a bank card as 6222 **** **** 1234 whatever its length (16 to
// 19 digits), so the mask does not tell the length either; partial also
// shows the 5th and 6th digits, which complete the issuer's BIN. Something
// too short to be a card is masked as any other number.
func card(value string, partial bool) string {
	d := []rune(compact(value))
	n := len(d)
	switch {
	case partial && n-10 >= quarter(n):
		return string(d[:4]) + " " + string(d[4:6]) + "** **** " + string(d[n-4:])
	case n-8 >= quarter(n):
		return string(d[:4]) + " **** **** " + string(d[n-4:])
	}
	return keep(string(d), 4, 4)
}

// keep shows the first and last runes of value and hides those between,
// one star each. At least a quarter of the runes (and at least one) are
// always hidden: for a value too short for the format, fewer leading and
// then fewer trailing runes are shown, so keep never returns a value
// unchanged and odd input does not come back nearly whole.
func keep(value string, first, last int) string {
	r := []rune(value)
	n := len(r)
	hide := quarter(n)
	for n-first-last < hide && first > 0 {
		first--
	}
	for n-first-last < hide && last > 0 {
		last--
	}
	return string(r[:first]) + stars(n-first-last) + string(r[n-last:])
}

// quarter is how many of n runes must stay hidden: a quarter, rounded up.
func quarter(n int) int { return (n + 3) / 4 }

// compact drops the spaces and hyphens people type inside numbers.
func compact(value string) string {
	return strings.Map(func(c rune) rune {
		if c == '-' || unicode.IsSpace(c) {
			return -1
		}
		return c
	}, value)
}

func stars(n int) string { return strings.Repeat("*", n) }
