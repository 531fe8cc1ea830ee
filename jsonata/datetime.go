package jsonata

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file ports the reference datetime module: XPath F&O
// format-integer / format-dateTime pictures and their inverses.

var fewWords = []string{"Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
	"Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"}
var ordinalWords = []string{"Zeroth", "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth",
	"Eleventh", "Twelfth", "Thirteenth", "Fourteenth", "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth"}
var decadeWords = []string{"Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred"}
var magnitudeWords = []string{"Thousand", "Million", "Billion", "Trillion"}

func numberToWords(value float64, ordinal bool) string {
	var lookup func(num float64, prev, ord bool) string
	lookup = func(num float64, prev, ord bool) string {
		words := ""
		switch {
		case num <= 19:
			if prev {
				words = " and "
			}
			if ord {
				words += ordinalWords[int(num)]
			} else {
				words += fewWords[int(num)]
			}
		case num < 100:
			tens := int(num / 10)
			remainder := int(math.Mod(num, 10))
			if prev {
				words = " and "
			}
			words += decadeWords[tens-2]
			if remainder > 0 {
				words += "-" + lookup(float64(remainder), false, ord)
			} else if ord {
				words = words[:len(words)-1] + "ieth"
			}
		case num < 1000:
			hundreds := int(num / 100)
			remainder := math.Mod(num, 100)
			if prev {
				words = ", "
			}
			words += fewWords[hundreds] + " Hundred"
			if remainder > 0 {
				words += lookup(remainder, true, ord)
			} else if ord {
				words += "th"
			}
		default:
			mag := int(math.Floor(math.Log10(num) / 3))
			if mag > len(magnitudeWords) {
				mag = len(magnitudeWords)
			}
			factor := math.Pow(10, float64(mag*3))
			mant := math.Floor(num / factor)
			remainder := num - mant*factor
			if prev {
				words = ", "
			}
			words += lookup(mant, false, false) + " " + magnitudeWords[mag-1]
			if remainder > 0 {
				words += lookup(remainder, true, ord)
			} else if ord {
				words += "th"
			}
		}
		return words
	}
	return lookup(value, false, ordinal)
}

var wordValues = func() map[string]float64 {
	m := map[string]float64{}
	for i, w := range fewWords {
		m[strings.ToLower(w)] = float64(i)
	}
	for i, w := range ordinalWords {
		m[strings.ToLower(w)] = float64(i)
	}
	for i, w := range decadeWords {
		lw := strings.ToLower(w)
		m[lw] = float64((i + 2) * 10)
		m[lw[:len(lw)-1]+"ieth"] = m[lw]
	}
	m["hundredth"] = 100
	for i, w := range magnitudeWords {
		lw := strings.ToLower(w)
		v := math.Pow(10, float64((i+1)*3))
		m[lw] = v
		m[lw+"th"] = v
	}
	return m
}()

var wordSplitRE = regexp.MustCompile(`,\s|\sand\s|[\s\\-]`)

func wordsToNumber(text string) float64 {
	parts := wordSplitRE.Split(text, -1)
	segs := []float64{0}
	for _, part := range parts {
		value, ok := wordValues[part]
		if !ok {
			value = math.NaN()
		}
		if value < 100 {
			top := segs[len(segs)-1]
			segs = segs[:len(segs)-1]
			if top >= 1000 {
				segs = append(segs, top)
				top = 0
			}
			segs = append(segs, top+value)
		} else {
			top := segs[len(segs)-1]
			segs[len(segs)-1] = top * value
		}
	}
	total := 0.0
	for _, s := range segs {
		total += s
	}
	return total
}

var romanNumerals = []struct {
	v int
	s string
}{{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"}, {40, "xl"}, {10, "x"}, {9, "ix"}, {5, "v"}, {4, "iv"}, {1, "i"}}

func decimalToRoman(value int) string {
	var b strings.Builder
	for value > 0 {
		for _, rn := range romanNumerals {
			if value >= rn.v {
				b.WriteString(rn.s)
				value -= rn.v
				break
			}
		}
		if b.Len() > 100000 {
			break
		}
	}
	return b.String()
}

var romanValues = map[byte]int{'M': 1000, 'D': 500, 'C': 100, 'L': 50, 'X': 10, 'V': 5, 'I': 1}

func romanToDecimal(roman string) float64 {
	decimal := 0
	max := 1
	for i := len(roman) - 1; i >= 0; i-- {
		v := romanValues[roman[i]]
		if v < max {
			decimal -= v
		} else {
			max = v
			decimal += v
		}
	}
	return float64(decimal)
}

func decimalToLetters(value int, aChar byte) string {
	var letters []byte
	for value > 0 {
		letters = append([]byte{byte((value-1)%26) + aChar}, letters...)
		value = (value - 1) / 26
	}
	return string(letters)
}

func lettersToDecimal(letters string, aChar byte) float64 {
	decimal := 0.0
	for i := 0; i < len(letters); i++ {
		decimal += float64(int(letters[len(letters)-i-1])-int(aChar)+1) * math.Pow(26, float64(i))
	}
	return decimal
}

const (
	fmtDecimal = iota
	fmtLetters
	fmtRoman
	fmtWords
	fmtSequence
)

const (
	caseLower = iota
	caseUpper
	caseTitle
)

type groupSep struct {
	position int
	char     string
}

type intFormat struct {
	primary         int
	tcase           int
	ordinal         bool
	zeroCode        rune
	mandatoryDigits int
	optionalDigits  int
	regular         bool
	separators      []groupSep // irregular
	regularSep      groupSep
	token           string
	parseWidth      int
}

var decimalGroups = []rune{0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func analyseIntegerPicture(picture string) (*intFormat, error) {
	f := &intFormat{primary: fmtDecimal, tcase: caseLower}
	primary := picture
	if semi := strings.LastIndexByte(picture, ';'); semi >= 0 {
		primary = picture[:semi]
		mod := picture[semi+1:]
		if strings.HasPrefix(mod, "o") {
			f.ordinal = true
		}
	}
	switch primary {
	case "A":
		f.tcase = caseUpper
		f.primary = fmtLetters
	case "a":
		f.primary = fmtLetters
	case "I":
		f.tcase = caseUpper
		f.primary = fmtRoman
	case "i":
		f.primary = fmtRoman
	case "W":
		f.tcase = caseUpper
		f.primary = fmtWords
	case "Ww":
		f.tcase = caseTitle
		f.primary = fmtWords
	case "w":
		f.primary = fmtWords
	default:
		zeroCode := rune(-1)
		mandatory, optional := 0, 0
		var seps []groupSep
		sepPos := 0
		runes := []rune(primary)
		for i := len(runes) - 1; i >= 0; i-- {
			cp := runes[i]
			digit := false
			for _, g := range decimalGroups {
				if cp >= g && cp <= g+9 {
					digit = true
					mandatory++
					sepPos++
					if zeroCode < 0 {
						zeroCode = g
					} else if g != zeroCode {
						return nil, newErr("D3131")
					}
					break
				}
			}
			if !digit {
				if cp == '#' {
					sepPos++
					optional++
				} else {
					seps = append(seps, groupSep{position: sepPos, char: string(cp)})
				}
			}
		}
		if mandatory > 0 {
			f.primary = fmtDecimal
			f.zeroCode = zeroCode
			f.mandatoryDigits = mandatory
			f.optionalDigits = optional
			regular := 0
			if len(seps) > 0 {
				same := true
				for _, s := range seps[1:] {
					if s.char != seps[0].char {
						same = false
					}
				}
				if same {
					factor := seps[0].position
					for _, s := range seps[1:] {
						factor = gcd(factor, s.position)
					}
					regular = factor
					for idx := 1; idx <= len(seps); idx++ {
						found := false
						for _, s := range seps {
							if s.position == idx*factor {
								found = true
							}
						}
						if !found {
							regular = 0
							break
						}
					}
				}
			}
			if regular > 0 {
				f.regular = true
				f.regularSep = groupSep{position: regular, char: seps[0].char}
			} else {
				f.separators = seps
			}
		} else {
			f.primary = fmtSequence
			f.token = primary
		}
	}
	return f, nil
}

func formatIntegerValue(value float64, f *intFormat) (string, error) {
	negative := value < 0
	value = math.Abs(value)
	var s string
	switch f.primary {
	case fmtLetters:
		a := byte('a')
		if f.tcase == caseUpper {
			a = 'A'
		}
		if value > 1e9 {
			return "", tooLarge("number for letter format")
		}
		s = decimalToLetters(int(value), a)
	case fmtRoman:
		if value > 1e6 {
			return "", tooLarge("number for roman format")
		}
		s = decimalToRoman(int(value))
		if f.tcase == caseUpper {
			s = strings.ToUpper(s)
		}
	case fmtWords:
		s = numberToWords(value, f.ordinal)
		if f.tcase == caseUpper {
			s = strings.ToUpper(s)
		} else if f.tcase == caseLower {
			s = strings.ToLower(s)
		}
	case fmtDecimal:
		s = formatJSNumber(value)
		if pad := f.mandatoryDigits - len(s); pad > 0 {
			s = strings.Repeat("0", pad) + s
		}
		if f.zeroCode != 0x30 {
			rs := []rune(s)
			for i, r := range rs {
				rs[i] = r + f.zeroCode - 0x30
			}
			s = string(rs)
		}
		if f.regular {
			rs := []rune(s)
			n := (len(rs) - 1) / f.regularSep.position
			for ii := n; ii > 0; ii-- {
				pos := len(rs) - ii*f.regularSep.position
				rs = append(rs[:pos:pos], append([]rune(f.regularSep.char), rs[pos:]...)...)
			}
			s = string(rs)
		} else {
			for i := len(f.separators) - 1; i >= 0; i-- {
				sep := f.separators[i]
				rs := []rune(s)
				pos := len(rs) - sep.position
				if pos < 0 {
					pos = 0
				}
				s = string(rs[:pos]) + sep.char + string(rs[pos:])
			}
		}
		if f.ordinal {
			rs := []rune(s)
			last := rs[len(rs)-1]
			suffix := map[rune]string{'1': "st", '2': "nd", '3': "rd"}[last]
			if suffix == "" || (len(rs) > 1 && rs[len(rs)-2] == '1') {
				suffix = "th"
			}
			s += suffix
		}
	case fmtSequence:
		return "", errVal("D3130", f.token)
	}
	if negative {
		s = "-" + s
	}
	return s, nil
}

func fnFormatInteger(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	v := arg(args, 0)
	if isUndef(v) {
		return undef, nil
	}
	picture, _ := arg(args, 1).(string)
	f, err := analyseIntegerPicture(picture)
	if err != nil {
		return nil, err
	}
	return formatIntegerValue(math.Floor(num(v)), f)
}

// intMatcher is the reference generateRegex for an integer format.
type intMatcher struct {
	regex string
	parse func(string) float64
}

func integerMatcher(f *intFormat) (*intMatcher, error) {
	m := &intMatcher{}
	isUpper := f.tcase == caseUpper
	switch f.primary {
	case fmtLetters:
		a := byte('a')
		m.regex = "[a-z]+"
		if isUpper {
			a = 'A'
			m.regex = "[A-Z]+"
		}
		m.parse = func(v string) float64 { return lettersToDecimal(v, a) }
	case fmtRoman:
		m.regex = "[mdclxvi]+"
		if isUpper {
			m.regex = "[MDCLXVI]+"
		}
		m.parse = func(v string) float64 {
			if !isUpper {
				v = strings.ToUpper(v)
			}
			return romanToDecimal(v)
		}
	case fmtWords:
		keys := make([]string, 0, len(wordValues)+2)
		for k := range wordValues {
			keys = append(keys, k)
		}
		// longest first so alternation prefers whole words
		sortByLenDesc(keys)
		keys = append(keys, "and", `[\-, ]`)
		m.regex = "(?:" + strings.Join(keys, "|") + ")+"
		m.parse = func(v string) float64 { return wordsToNumber(strings.ToLower(v)) }
	case fmtDecimal:
		m.regex = "[0-9]"
		if f.parseWidth > 0 {
			m.regex += "{" + strconv.Itoa(f.parseWidth) + "}"
		} else {
			m.regex += "+"
		}
		if f.ordinal {
			m.regex += "(?:th|st|nd|rd)"
		}
		m.parse = func(v string) float64 {
			digits := v
			if f.ordinal {
				digits = digits[:max(0, len(digits)-2)]
			}
			if f.regular {
				digits = strings.ReplaceAll(digits, ",", "")
			} else {
				for _, s := range f.separators {
					digits = strings.ReplaceAll(digits, s.char, "")
				}
			}
			if f.zeroCode != 0x30 {
				rs := []rune(digits)
				for i, r := range rs {
					rs[i] = r - f.zeroCode + 0x30
				}
				digits = string(rs)
			}
			n, ok := parseLeadingInt(digits)
			if !ok {
				return math.NaN()
			}
			return float64(n)
		}
	case fmtSequence:
		return nil, errVal("D3130", f.token)
	}
	return m, nil
}

func sortByLenDesc(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && (len(keys[j]) > len(keys[j-1]) || len(keys[j]) == len(keys[j-1]) && keys[j] < keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

func fnParseInteger(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	v, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	picture, _ := arg(args, 1).(string)
	f, err := analyseIntegerPicture(picture)
	if err != nil {
		return nil, err
	}
	m, err := integerMatcher(f)
	if err != nil {
		return nil, err
	}
	r := m.parse(v)
	if r != r {
		return undef, nil
	}
	return r, nil
}

// ---------------------------------------------------------- date/time

var defaultPresentation = map[byte]string{
	'Y': "1", 'M': "1", 'D': "1", 'd': "1", 'F': "n", 'W': "1", 'w': "1", 'X': "1", 'x': "1", 'H': "1", 'h': "1",
	'P': "n", 'm': "01", 's': "01", 'f': "1", 'Z': "01:01", 'z': "01:01", 'C': "n", 'E': "n",
}

type dtPart struct {
	literal       bool
	value         string
	component     byte
	hasWidth      bool
	widthMin      int // -1 = unspecified
	widthMax      int
	presentation1 string
	presentation2 string
	ordinal       bool
	names         int // 0 none, else case+1
	integerFormat *intFormat
	n             int
}

func analyseDateTimePicture(picture string) ([]*dtPart, error) {
	var spec []*dtPart
	addLiteral := func(start, end int) {
		if end > start {
			lit := strings.ReplaceAll(picture[start:end], "]]", "]")
			spec = append(spec, &dtPart{literal: true, value: lit})
		}
	}
	start, pos := 0, 0
	for pos < len(picture) {
		if picture[pos] == '[' {
			if pos+1 < len(picture) && picture[pos+1] == '[' {
				addLiteral(start, pos)
				spec = append(spec, &dtPart{literal: true, value: "["})
				pos += 2
				start = pos
				continue
			}
			addLiteral(start, pos)
			start = pos
			end := strings.IndexByte(picture[start:], ']')
			if end < 0 {
				return nil, newErr("D3135")
			}
			pos = start + end
			marker := strings.Join(strings.Fields(picture[start+1:pos]), "")
			def := &dtPart{widthMin: -1, widthMax: -1}
			if marker != "" {
				def.component = marker[0]
			}
			var presMod string
			if comma := strings.LastIndexByte(marker, ','); comma >= 0 {
				widthMod := marker[comma+1:]
				var minS, maxS string
				hasMax := false
				if dash := strings.IndexByte(widthMod, '-'); dash < 0 {
					minS = widthMod
				} else {
					minS = widthMod[:dash]
					maxS = widthMod[dash+1:]
					hasMax = true
				}
				parseWidth := func(w string) int {
					if w == "*" || w == "" {
						return -1
					}
					n, ok := parseLeadingInt(w)
					if !ok {
						return -1
					}
					return n
				}
				def.hasWidth = true
				def.widthMin = parseWidth(minS)
				if hasMax {
					def.widthMax = parseWidth(maxS)
				}
				if comma >= 1 {
					presMod = marker[1:comma]
				}
			} else if len(marker) > 0 {
				presMod = marker[1:]
			}
			if len(presMod) == 1 {
				def.presentation1 = presMod
			} else if len(presMod) > 1 {
				last := presMod[len(presMod)-1]
				if strings.IndexByte("atco", last) >= 0 {
					def.presentation2 = string(last)
					if last == 'o' {
						def.ordinal = true
					}
					def.presentation1 = presMod[:len(presMod)-1]
				} else {
					def.presentation1 = presMod
				}
			} else {
				p, ok := defaultPresentation[def.component]
				if !ok {
					return nil, errVal("D3132", string(def.component))
				}
				def.presentation1 = p
			}
			if def.presentation1 == "" {
				return nil, errVal("D3132", string(def.component))
			}
			if def.presentation1[0] == 'n' {
				def.names = caseLower + 1
			} else if def.presentation1[0] == 'N' {
				if len(def.presentation1) > 1 && def.presentation1[1] == 'n' {
					def.names = caseTitle + 1
				} else {
					def.names = caseUpper + 1
				}
			} else if strings.IndexByte("YMDdFWwXxHhmsf", def.component) >= 0 {
				pattern := def.presentation1
				if def.presentation2 != "" {
					pattern += ";" + def.presentation2
				}
				f, err := analyseIntegerPicture(pattern)
				if err != nil {
					return nil, err
				}
				def.integerFormat = f
				if def.hasWidth && def.widthMin >= 0 && f.mandatoryDigits < def.widthMin {
					f.mandatoryDigits = def.widthMin
				}
				if def.component == 'Y' {
					def.n = -1
					if def.hasWidth && def.widthMax >= 0 {
						def.n = def.widthMax
						f.mandatoryDigits = def.n
					} else if w := f.mandatoryDigits + f.optionalDigits; w >= 2 {
						def.n = w
					}
				}
				if len(spec) > 0 {
					prev := spec[len(spec)-1]
					if prev.integerFormat != nil {
						prev.integerFormat.parseWidth = prev.integerFormat.mandatoryDigits
					}
				}
			}
			if def.component == 'Z' || def.component == 'z' {
				f, err := analyseIntegerPicture(def.presentation1)
				if err != nil {
					return nil, err
				}
				def.integerFormat = f
			}
			spec = append(spec, def)
			start = pos + 1
		}
		pos++
	}
	addLiteral(start, pos)
	return spec, nil
}

var dayNames = []string{"", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

const millisInADay = 86400000.0

func utcMillis(year, month int) float64 {
	return float64(time.Date(year, time.Month(month+1), 1, 0, 0, 0, 0, time.UTC).UnixMilli())
}

func startOfFirstWeek(year, month int) float64 {
	jan1 := utcMillis(year, month)
	day := int(time.UnixMilli(int64(jan1)).UTC().Weekday())
	if day == 0 {
		day = 7
	}
	if day > 4 {
		return jan1 + float64(8-day)*millisInADay
	}
	return jan1 - float64(day-1)*millisInADay
}

func deltaWeeks(start, end float64) float64 { return (end-start)/(millisInADay*7) + 1 }

func dayMillis(t time.Time) float64 {
	return float64(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).UnixMilli())
}

func dateFragment(t time.Time, component byte) any {
	switch component {
	case 'Y':
		return float64(t.Year())
	case 'M':
		return float64(t.Month())
	case 'D':
		return float64(t.Day())
	case 'd':
		return float64(t.YearDay())
	case 'F':
		d := int(t.Weekday())
		if d == 0 {
			d = 7
		}
		return float64(d)
	case 'W':
		y := t.Year()
		start := startOfFirstWeek(y, 0)
		today := dayMillis(t)
		week := deltaWeeks(start, today)
		if week > 52 {
			if today >= startOfFirstWeek(y+1, 0) {
				week = 1
			}
		} else if week < 1 {
			week = deltaWeeks(startOfFirstWeek(y-1, 0), today)
		}
		return math.Floor(week)
	case 'w':
		y, m := t.Year(), int(t.Month())-1
		start := startOfFirstWeek(y, m)
		today := dayMillis(t)
		week := deltaWeeks(start, today)
		if week > 4 {
			ny, nm := y, m+1
			if m == 11 {
				ny, nm = y+1, 0
			}
			if today >= startOfFirstWeek(ny, nm) {
				week = 1
			}
		} else if week < 1 {
			py, pm := y, m-1
			if m == 0 {
				py, pm = y-1, 11
			}
			week = deltaWeeks(startOfFirstWeek(py, pm), today)
		}
		return math.Floor(week)
	case 'X':
		y := t.Year()
		now := float64(t.UnixMilli())
		if now < startOfFirstWeek(y, 0) {
			return float64(y - 1)
		} else if now >= startOfFirstWeek(y+1, 0) {
			return float64(y + 1)
		}
		return float64(y)
	case 'x':
		y, m := t.Year(), int(t.Month())-1
		now := float64(t.UnixMilli())
		ny, nm := y, m+1
		if m == 11 {
			ny, nm = y+1, 0
		}
		pm := m - 1
		if m == 0 {
			pm = 11
		}
		if now < startOfFirstWeek(y, m) {
			return float64(pm + 1)
		} else if now >= startOfFirstWeek(ny, nm) {
			return float64(nm + 1)
		}
		return float64(m + 1)
	case 'H':
		return float64(t.Hour())
	case 'h':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return float64(h)
	case 'P':
		if t.Hour() >= 12 {
			return "pm"
		}
		return "am"
	case 'm':
		return float64(t.Minute())
	case 's':
		return float64(t.Second())
	case 'f':
		return float64(t.Nanosecond() / 1e6)
	case 'C', 'E':
		return "ISO"
	}
	return undef
}

var iso8601Spec = func() []*dtPart {
	s, err := analyseDateTimePicture("[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]")
	if err != nil {
		panic(err)
	}
	return s
}()

func formatDateTime(millis float64, picture *string, timezone *string) (string, error) {
	offsetHours, offsetMinutes := 0, 0
	if timezone != nil {
		offset, ok := parseLeadingSignedInt(*timezone)
		if ok {
			offsetHours = int(math.Floor(float64(offset) / 100))
			offsetMinutes = offset % 100
		}
	}
	var spec []*dtPart
	if picture == nil {
		spec = iso8601Spec
	} else {
		var err error
		spec, err = analyseDateTimePicture(*picture)
		if err != nil {
			return "", err
		}
	}
	offsetMillis := float64((60*offsetHours + offsetMinutes) * 60 * 1000)
	ms := millis + offsetMillis
	if math.IsNaN(ms) || math.Abs(ms) > 8.64e15 {
		return "", errVal("D3110", millis)
	}
	t := time.UnixMilli(int64(math.Floor(ms))).UTC()
	var b strings.Builder
	for _, part := range spec {
		if part.literal {
			b.WriteString(part.value)
			continue
		}
		s, err := formatComponent(t, part, offsetHours, offsetMinutes)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// parseLeadingSignedInt mimics parseInt(s) (base 10, optional sign).
func parseLeadingSignedInt(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t\n")
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	n, ok := parseLeadingInt(s)
	if neg {
		n = -n
	}
	return n, ok
}

func formatComponent(t time.Time, part *dtPart, offsetHours, offsetMinutes int) (string, error) {
	value := dateFragment(t, part.component)
	switch {
	case strings.IndexByte("YMDdFWwXxHhms", part.component) >= 0:
		v := num(value)
		if part.component == 'Y' && part.n != -1 {
			v = math.Mod(v, math.Pow(10, float64(part.n)))
		}
		if part.names != 0 {
			var name string
			switch part.component {
			case 'M', 'x':
				name = monthNames[int(v)-1]
			case 'F':
				name = dayNames[int(v)]
			default:
				return "", errVal("D3133", string(part.component))
			}
			switch part.names - 1 {
			case caseUpper:
				name = strings.ToUpper(name)
			case caseLower:
				name = strings.ToLower(name)
			}
			if part.hasWidth && part.widthMax >= 0 && utf8.RuneCountInString(name) > part.widthMax {
				name = string([]rune(name)[:part.widthMax])
			}
			return name, nil
		}
		return formatIntegerValue(v, part.integerFormat)
	case part.component == 'f':
		return formatIntegerValue(num(value), part.integerFormat)
	case part.component == 'Z' || part.component == 'z':
		offset := offsetHours*100 + offsetMinutes
		var s string
		var err error
		if part.integerFormat.regular {
			s, err = formatIntegerValue(float64(offset), part.integerFormat)
		} else {
			numDigits := part.integerFormat.mandatoryDigits
			if numDigits == 1 || numDigits == 2 {
				s, err = formatIntegerValue(float64(offsetHours), part.integerFormat)
				if offsetMinutes != 0 {
					m, _ := analyseIntegerPicture("00")
					mm, _ := formatIntegerValue(float64(offsetMinutes), m)
					s += ":" + mm
				}
			} else if numDigits == 3 || numDigits == 4 {
				s, err = formatIntegerValue(float64(offset), part.integerFormat)
			} else {
				return "", errVal("D3134", float64(numDigits))
			}
		}
		if err != nil {
			return "", err
		}
		if offset >= 0 {
			s = "+" + s
		}
		if part.component == 'z' {
			s = "GMT" + s
		}
		if offset == 0 && part.presentation2 == "t" {
			s = "Z"
		}
		return s, nil
	case part.component == 'P':
		s, _ := value.(string)
		if part.names-1 == caseUpper {
			s = strings.ToUpper(s)
		}
		return s, nil
	}
	if s, ok := value.(string); ok {
		return s, nil
	}
	return "", nil
}

type dtMatcher struct {
	regex     string
	component byte
	parse     func(string) (float64, bool)
}

func dateTimeMatchers(spec []*dtPart) ([]dtMatcher, error) {
	out := make([]dtMatcher, 0, len(spec))
	for _, part := range spec {
		var m dtMatcher
		switch {
		case part.literal:
			m.regex = regexp.QuoteMeta(part.value)
		case part.component == 'Z' || part.component == 'z':
			var sep string
			hasSep := part.integerFormat.regular
			if hasSep {
				sep = part.integerFormat.regularSep.char
			}
			if part.component == 'z' {
				m.regex = "GMT"
			}
			m.regex += "[-+][0-9]+"
			if hasSep {
				m.regex += regexp.QuoteMeta(sep) + "[0-9]+"
			}
			comp := part.component
			m.parse = func(v string) (float64, bool) {
				if comp == 'z' && len(v) >= 3 {
					v = v[3:]
				}
				oh, om := 0, 0
				if hasSep {
					i := strings.Index(v, sep)
					oh, _ = parseLeadingSignedInt(v[:i])
					om, _ = parseLeadingSignedInt(v[i+len(sep):])
				} else {
					if len(v)-1 <= 2 {
						oh, _ = parseLeadingSignedInt(v)
					} else {
						oh, _ = parseLeadingSignedInt(v[:3])
						om, _ = parseLeadingSignedInt(v[3:])
					}
				}
				return float64(oh*60 + om), true
			}
		case part.component == 'f':
			m.regex = "[0-9]+"
			m.parse = func(v string) (float64, bool) {
				if len(v) > 3 {
					v = v[:3]
				}
				f, err := strconv.ParseFloat("0."+v, 64)
				if err != nil {
					return 0, false
				}
				return f * 1000, true
			}
		case part.integerFormat != nil:
			im, err := integerMatcher(part.integerFormat)
			if err != nil {
				return nil, err
			}
			m.regex = im.regex
			m.parse = func(v string) (float64, bool) { return im.parse(v), true }
		default:
			m.regex = "[a-zA-Z]+"
			lookup := map[string]float64{}
			switch part.component {
			case 'M', 'x':
				for i, name := range monthNames {
					if part.hasWidth && part.widthMax > 0 {
						name = name[:min(len(name), part.widthMax)]
					}
					lookup[name] = float64(i + 1)
				}
			case 'F':
				for i, name := range dayNames {
					if i == 0 {
						continue
					}
					if part.hasWidth && part.widthMax > 0 {
						name = name[:min(len(name), part.widthMax)]
					}
					lookup[name] = float64(i)
				}
			case 'P':
				lookup = map[string]float64{"am": 0, "AM": 0, "pm": 1, "PM": 1}
			default:
				return nil, errVal("D3133", string(part.component))
			}
			m.parse = func(v string) (float64, bool) {
				f, ok := lookup[v]
				return f, ok
			}
		}
		m.component = part.component
		out = append(out, m)
	}
	return out, nil
}

func (c *evalCtx) parseDateTime(timestamp, picture string) (any, error) {
	spec, err := analyseDateTimePicture(picture)
	if err != nil {
		return nil, err
	}
	matchers, err := dateTimeMatchers(spec)
	if err != nil {
		return nil, err
	}
	var full strings.Builder
	full.WriteString("(?i)^")
	for _, m := range matchers {
		full.WriteString("(" + m.regex + ")")
	}
	full.WriteString("$")
	re, err := regexp.Compile(full.String())
	if err != nil {
		return undef, nil
	}
	info := re.FindStringSubmatch(timestamp)
	if info == nil {
		return undef, nil
	}
	components := map[byte]float64{}
	has := map[byte]bool{}
	for i := 1; i < len(info); i++ {
		m := matchers[i-1]
		if m.parse != nil {
			v, ok := m.parse(info[i])
			if ok {
				components[m.component] = v
				has[m.component] = true
			} else {
				has[m.component] = false
				components[m.component] = math.NaN()
			}
		}
	}
	if len(components) == 0 {
		return undef, nil
	}
	mask := 0
	shift := func(comp byte) {
		mask <<= 1
		if v, ok := components[comp]; ok && v == v && v != 0 {
			mask++
		}
	}
	isType := func(t int) bool { return (^t&mask) == 0 && (t&mask) != 0 }
	for _, p := range "YXMxWwdD" {
		shift(byte(p))
	}
	dateA := isType(161)
	dateB := !dateA && isType(130)
	dateC := isType(84)
	dateD := !dateC && isType(72)
	mask = 0
	for _, p := range "PHhmsf" {
		shift(byte(p))
	}
	timeA := isType(23)
	timeB := !timeA && isType(47)
	dateComps := "YMD"
	if dateB {
		dateComps = "YD"
	} else if dateC {
		dateComps = "XxwF"
	} else if dateD {
		dateComps = "XWF"
	}
	timeComps := "Hmsf"
	if timeB {
		timeComps = "Phmsf"
	}
	now := c.timestamp().UTC()
	startSpecified, endSpecified := false, false
	for _, p := range dateComps + timeComps {
		part := byte(p)
		if _, ok := components[part]; !ok {
			if startSpecified {
				if strings.IndexByte("MDd", part) >= 0 {
					components[part] = 1
				} else {
					components[part] = 0
				}
				endSpecified = true
			} else {
				components[part] = num(dateFragment(now, part))
			}
		} else {
			startSpecified = true
			if endSpecified {
				return nil, newErr("D3136")
			}
		}
	}
	if components['M'] > 0 {
		components['M']--
	} else {
		components['M'] = 0
	}
	if dateB {
		firstJan := utcMillis(int(components['Y']), 0)
		derived := time.UnixMilli(int64(firstJan + (components['d']-1)*millisInADay)).UTC()
		components['M'] = float64(derived.Month() - 1)
		components['D'] = float64(derived.Day())
	}
	if dateC || dateD {
		return nil, newErr("D3136")
	}
	if timeB {
		h := components['h']
		if h == 12 {
			h = 0
		}
		components['H'] = h
		if components['P'] == 1 {
			components['H'] += 12
		}
	}
	for _, v := range components {
		if v != v {
			return undef, nil
		}
	}
	t := time.Date(int(components['Y']), time.Month(int(components['M'])+1), int(components['D']),
		int(components['H']), int(components['m']), int(components['s']), int(components['f'])*1e6, time.UTC)
	millis := float64(t.UnixMilli())
	if z, ok := components['Z']; ok && z != 0 {
		millis -= z * 60 * 1000
	} else if z, ok := components['z']; ok && z != 0 {
		millis -= z * 60 * 1000
	}
	return millis, nil
}

var iso8601RE = regexp.MustCompile(`^(\d{4})(-([01]\d))?(-([0-3]\d))?(T([0-2]\d):([0-5]\d):([0-5]\d))?(\.(\d+))?([+-][0-2]\d:?[0-5]\d|Z)?$`)

// parseISO mirrors Date.parse for the ISO 8601 forms toMillis accepts
// (times without an offset are taken as UTC).
func parseISO(s string) (float64, bool) {
	m := iso8601RE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	atoi := func(x string, def int) int {
		if x == "" {
			return def
		}
		n, _ := strconv.Atoi(x)
		return n
	}
	year := atoi(m[1], 0)
	month := atoi(m[3], 1)
	day := atoi(m[5], 1)
	hour, minute, sec := atoi(m[7], 0), atoi(m[8], 0), atoi(m[9], 0)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 {
		return math.NaN(), true
	}
	ms := 0
	if m[11] != "" {
		frac := m[11]
		if len(frac) > 3 {
			frac = frac[:3]
		}
		for len(frac) < 3 {
			frac += "0"
		}
		ms, _ = strconv.Atoi(frac)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ms*1e6, time.UTC)
	if t.Day() != day {
		return math.NaN(), true
	}
	millis := float64(t.UnixMilli())
	if z := m[12]; z != "" && z != "Z" {
		sign := 1.0
		if z[0] == '-' {
			sign = -1
		}
		z = strings.ReplaceAll(z[1:], ":", "")
		oh, _ := strconv.Atoi(z[:2])
		om, _ := strconv.Atoi(z[2:])
		millis -= sign * float64(oh*60+om) * 60000
	}
	return millis, true
}

func fnToMillis(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	ts, ok := arg(args, 0).(string)
	if !ok {
		return undef, nil
	}
	if pic, ok := arg(args, 1).(string); ok {
		return c.parseDateTime(ts, pic)
	}
	ms, ok := parseISO(ts)
	if !ok {
		return nil, errVal("D3110", ts)
	}
	if ms != ms {
		return nil, nil
	}
	return ms, nil
}

func optString(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

func fnFromMillis(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	v := arg(args, 0)
	if isUndef(v) {
		return undef, nil
	}
	return formatDateTime(num(v), optString(arg(args, 1)), optString(arg(args, 2)))
}

func fnNow(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	return formatDateTime(float64(c.timestamp().UnixMilli()), optString(arg(args, 0)), optString(arg(args, 1)))
}

func fnMillis(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	return float64(c.timestamp().UnixMilli()), nil
}
