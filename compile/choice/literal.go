package choice

import (
	"cmp"
	"strings"
)

// timestamp is an instant: seconds since the Unix epoch and nanoseconds.
type timestamp struct {
	sec  int64
	nsec int32
}

func (t timestamp) compare(u timestamp) int {
	if c := cmp.Compare(t.sec, u.sec); c != 0 {
		return c
	}
	return cmp.Compare(t.nsec, u.nsec)
}

// parseTimestamp parses the RFC 3339 profile of ISO 8601 that the ASL
// requires: "2016-03-14T01:59:00Z", with an uppercase T, optional fractional
// seconds (1 to 9 digits) and either an uppercase Z or a ±hh:mm offset. The
// date must exist (no February 30th); second 60 is refused. It does not
// allocate.
func parseTimestamp(s string) (timestamp, bool) {
	// YYYY-MM-DDTHH:MM:SS is 19 bytes; a zone adds at least one.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return timestamp{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	second, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return timestamp{}, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59 {
		return timestamp{}, false
	}
	rest := s[19:]
	var nsec int32
	if rest[0] == '.' {
		i := 1
		scale := int32(100_000_000)
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i > 9 {
				return timestamp{}, false
			}
			nsec += int32(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return timestamp{}, false
		}
		rest = rest[i:]
	}
	var offset int64
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return timestamp{}, false
		}
		offset = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return timestamp{}, false
	}
	sec := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+second) - offset
	return timestamp{sec: sec, nsec: nsec}, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// pattern is a compiled StringMatches pattern: the literal parts between
// its unescaped * wildcards.
type pattern struct {
	parts []string // len(parts) == 1: no wildcard
}

// compilePattern splits a StringMatches pattern on unescaped *. "\*" is a
// literal *, "\\" a literal backslash; a backslash before any other
// character, or at the end, stands for itself.
func compilePattern(p string) pattern {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && (p[i+1] == '*' || p[i+1] == '\\'):
			b.WriteByte(p[i+1])
			i++
		case c == '*':
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	parts = append(parts, b.String())
	if len(parts) > 2 {
		// Empty middle parts (from "**") match anywhere: drop them.
		mid := parts[1 : len(parts)-1]
		kept := parts[:1]
		for _, m := range mid {
			if m != "" {
				kept = append(kept, m)
			}
		}
		parts = append(kept, parts[len(parts)-1])
	}
	return pattern{parts: parts}
}

// match reports whether s matches the whole pattern. With only the *
// wildcard, taking each middle part at its leftmost place is optimal, so
// this runs in linear time and does not allocate.
func (p *pattern) match(s string) bool {
	if len(p.parts) == 1 {
		return s == p.parts[0]
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, m := range p.parts[1 : len(p.parts)-1] {
		j := strings.Index(s, m)
		if j < 0 {
			return false
		}
		s = s[j+len(m):]
	}
	return true
}
