package jsonata

import (
	"math"
	"strconv"
	"strings"
)

// This file ports the reference $formatNumber (XPath F&O
// fn:format-number) and $formatBase.

func fnFormatBase(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	v := arg(args, 0)
	if isUndef(v) {
		return undef, nil
	}
	value := roundHalfEven(num(v), 0)
	radix := 10.0
	if r := arg(args, 1); !isUndef(r) {
		radix = roundHalfEven(num(r), 0)
	}
	if radix < 2 || radix > 36 {
		return nil, errVal("D3100", radix)
	}
	if math.Abs(value) > 9e18 {
		return formatJSNumber(value), nil
	}
	return strconv.FormatInt(int64(value), int(radix)), nil
}

type numPicture struct {
	prefix, suffix              []rune
	activePart, mantissaPart    []rune
	exponentPart                []rune
	hasExponent                 bool
	integerPart, fractionalPart []rune
	subpicture                  []rune
	integerGrouping             []int
	regularGrouping             int
	minimumIntegerPartSize      int
	scalingFactor               int
	fractionalGrouping          []int
	minimumFractionalPartSize   int
	maximumFractionalPartSize   int
	minimumExponentSize         int
}

func runeIndex(s []rune, r rune, from int) int {
	for i := max(from, 0); i < len(s); i++ {
		if s[i] == r {
			return i
		}
	}
	return -1
}

func runeLastIndex(s []rune, r rune) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == r {
			return i
		}
	}
	return -1
}

func containsRune(s []rune, r rune) bool { return runeIndex(s, r, 0) >= 0 }

func fnFormatNumber(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	v := arg(args, 0)
	if isUndef(v) {
		return undef, nil
	}
	value := num(v)
	pictureStr, _ := arg(args, 1).(string)
	props := map[string]string{
		"decimal-separator":  ".",
		"grouping-separator": ",",
		"exponent-separator": "e",
		"infinity":           "Infinity",
		"minus-sign":         "-",
		"NaN":                "NaN",
		"percent":            "%",
		"per-mille":          "\u2030",
		"zero-digit":         "0",
		"digit":              "#",
		"pattern-separator":  ";",
	}
	if opts := arg(args, 2); isObject(opts) {
		for _, k := range objKeys(opts) {
			ov, _ := objGet(opts, k)
			if s, ok := ov.(string); ok {
				props[k] = s
			}
		}
	}
	first := func(k string) rune {
		for _, r := range props[k] {
			return r
		}
		return 0
	}
	decimalSep := first("decimal-separator")
	groupSep := first("grouping-separator")
	expSep := first("exponent-separator")
	percent := first("percent")
	perMille := first("per-mille")
	zeroDigit := first("zero-digit")
	digit := first("digit")
	patternSep := first("pattern-separator")
	minusSign := props["minus-sign"]

	isDigitFamily := func(r rune) bool { return r >= zeroDigit && r < zeroDigit+10 }
	isActive := func(r rune) bool {
		return isDigitFamily(r) || r == decimalSep || r == expSep || r == groupSep || r == digit || r == patternSep
	}
	picture := []rune(pictureStr)
	var subPictures [][]rune
	start := 0
	for i, r := range picture {
		if r == patternSep {
			subPictures = append(subPictures, picture[start:i])
			start = i + 1
		}
	}
	subPictures = append(subPictures, picture[start:])
	if len(subPictures) > 2 {
		return nil, newErr("D3080")
	}
	splitParts := func(sub []rune) *numPicture {
		p := &numPicture{subpicture: sub}
		prefixEnd := len(sub)
		for i, ch := range sub {
			if isActive(ch) && ch != expSep {
				prefixEnd = i
				break
			}
		}
		if prefixEnd == len(sub) {
			p.prefix = nil
		} else {
			p.prefix = sub[:prefixEnd]
		}
		suffixStart := -1
		for i := len(sub) - 1; i >= 0; i-- {
			if isActive(sub[i]) && sub[i] != expSep {
				suffixStart = i + 1
				break
			}
		}
		if suffixStart >= 0 {
			p.suffix = sub[suffixStart:]
		}
		end := len(sub) - len(p.suffix)
		if len(p.prefix) <= end {
			p.activePart = sub[len(p.prefix):end]
		}
		expPos := runeIndex(sub, expSep, len(p.prefix))
		if expPos == -1 || expPos > len(sub)-len(p.suffix) {
			p.mantissaPart = p.activePart
		} else {
			ap := p.activePart
			p.mantissaPart = ap[:min(expPos, len(ap))]
			if expPos+1 <= len(ap) {
				p.exponentPart = ap[expPos+1:]
			}
			p.hasExponent = true
		}
		decPos := runeIndex(p.mantissaPart, decimalSep, 0)
		if decPos == -1 {
			p.integerPart = p.mantissaPart
			p.fractionalPart = p.suffix
		} else {
			p.integerPart = p.mantissaPart[:decPos]
			p.fractionalPart = p.mantissaPart[decPos+1:]
		}
		return p
	}
	validate := func(p *numPicture) error {
		code := ""
		sub := p.subpicture
		decPos := runeIndex(sub, decimalSep, 0)
		if decPos != runeLastIndex(sub, decimalSep) {
			code = "D3081"
		}
		if runeIndex(sub, percent, 0) != runeLastIndex(sub, percent) {
			code = "D3082"
		}
		if runeIndex(sub, perMille, 0) != runeLastIndex(sub, perMille) {
			code = "D3083"
		}
		if containsRune(sub, percent) && containsRune(sub, perMille) {
			code = "D3084"
		}
		valid := false
		for _, ch := range p.mantissaPart {
			if isDigitFamily(ch) || ch == digit {
				valid = true
				break
			}
		}
		if !valid {
			code = "D3085"
		}
		for _, ch := range p.activePart {
			if !isActive(ch) {
				code = "D3086"
				break
			}
		}
		if decPos != -1 {
			if (decPos > 0 && sub[decPos-1] == groupSep) || (decPos+1 < len(sub) && sub[decPos+1] == groupSep) {
				code = "D3087"
			}
		} else if len(p.integerPart) > 0 && p.integerPart[len(p.integerPart)-1] == groupSep {
			code = "D3088"
		}
		for i := 0; i+1 < len(sub); i++ {
			if sub[i] == groupSep && sub[i+1] == groupSep {
				code = "D3089"
			}
		}
		if odp := runeIndex(p.integerPart, digit, 0); odp != -1 {
			for _, ch := range p.integerPart[:odp] {
				if isDigitFamily(ch) {
					code = "D3090"
				}
			}
		}
		if odp := runeLastIndex(p.fractionalPart, digit); odp != -1 {
			for _, ch := range p.fractionalPart[odp:] {
				if isDigitFamily(ch) {
					code = "D3091"
				}
			}
		}
		if p.hasExponent && len(p.exponentPart) > 0 && (containsRune(sub, percent) || containsRune(sub, perMille)) {
			code = "D3092"
		}
		if p.hasExponent {
			bad := len(p.exponentPart) == 0
			for _, ch := range p.exponentPart {
				if !isDigitFamily(ch) {
					bad = true
				}
			}
			if bad {
				code = "D3093"
			}
		}
		if code != "" {
			return newErr(code)
		}
		return nil
	}
	analyse := func(p *numPicture) {
		groupingPositions := func(part []rune, toLeft bool) []int {
			var positions []int
			gp := runeIndex(part, groupSep, 0)
			for gp != -1 {
				var seg []rune
				if toLeft {
					seg = part[:gp]
				} else {
					seg = part[gp:]
				}
				n := 0
				for _, ch := range seg {
					if isDigitFamily(ch) || ch == digit {
						n++
					}
				}
				positions = append(positions, n)
				gp = runeIndex(p.integerPart, groupSep, gp+1)
			}
			return positions
		}
		p.integerGrouping = groupingPositions(p.integerPart, false)
		regular := func(idx []int) int {
			if len(idx) == 0 {
				return 0
			}
			factor := idx[0]
			for _, x := range idx[1:] {
				factor = gcd(factor, x)
			}
			if factor == 0 {
				return 0
			}
			for i := 1; i <= len(idx); i++ {
				found := false
				for _, x := range idx {
					if x == i*factor {
						found = true
					}
				}
				if !found {
					return 0
				}
			}
			return factor
		}
		p.regularGrouping = regular(p.integerGrouping)
		p.fractionalGrouping = groupingPositions(p.fractionalPart, true)
		for _, ch := range p.integerPart {
			if isDigitFamily(ch) {
				p.minimumIntegerPartSize++
			}
		}
		p.scalingFactor = p.minimumIntegerPartSize
		for _, ch := range p.fractionalPart {
			if isDigitFamily(ch) {
				p.minimumFractionalPartSize++
			}
			if isDigitFamily(ch) || ch == digit {
				p.maximumFractionalPartSize++
			}
		}
		if p.minimumIntegerPartSize == 0 && p.maximumFractionalPartSize == 0 {
			if p.hasExponent {
				p.minimumFractionalPartSize = 1
				p.maximumFractionalPartSize = 1
			} else {
				p.minimumIntegerPartSize = 1
			}
		}
		if p.hasExponent && p.minimumIntegerPartSize == 0 && containsRune(p.integerPart, digit) {
			p.minimumIntegerPartSize = 1
		}
		if p.minimumIntegerPartSize == 0 && p.minimumFractionalPartSize == 0 {
			p.minimumFractionalPartSize = 1
		}
		if p.hasExponent {
			for _, ch := range p.exponentPart {
				if isDigitFamily(ch) {
					p.minimumExponentSize++
				}
			}
		}
	}
	var pics []*numPicture
	for _, sp := range subPictures {
		p := splitParts(sp)
		if err := validate(p); err != nil {
			return nil, err
		}
		pics = append(pics, p)
	}
	for _, p := range pics {
		analyse(p)
	}
	if len(pics) == 1 {
		cp := *pics[0]
		cp.prefix = append([]rune(minusSign), cp.prefix...)
		pics = append(pics, &cp)
	}
	pic := pics[0]
	if value < 0 {
		pic = pics[1]
	}
	adjusted := value
	if containsRune(pic.subpicture, percent) {
		adjusted = value * 100
	} else if containsRune(pic.subpicture, perMille) {
		adjusted = value * 1000
	}
	mantissa := adjusted
	exponent := 0
	hasExp := pic.minimumExponentSize != 0
	if hasExp {
		maxM := math.Pow(10, float64(pic.scalingFactor))
		minM := math.Pow(10, float64(pic.scalingFactor-1))
		if mantissa != 0 && !math.IsInf(mantissa, 0) && mantissa == mantissa {
			for math.Abs(mantissa) < minM {
				mantissa *= 10
				exponent--
			}
			for math.Abs(mantissa) > maxM {
				mantissa /= 10
				exponent++
			}
		}
	}
	rounded := roundHalfEven(mantissa, pic.maximumFractionalPartSize)
	makeString := func(v float64, dp int) []rune {
		s := toFixed(math.Abs(v), dp)
		rs := []rune(s)
		if zeroDigit != '0' {
			for i, r := range rs {
				if r >= '0' && r <= '9' {
					rs[i] = zeroDigit + (r - '0')
				}
			}
		}
		return rs
	}
	sv := makeString(rounded, pic.maximumFractionalPartSize)
	if dp := runeIndex(sv, '.', 0); dp == -1 {
		sv = append(sv, decimalSep)
	} else {
		sv[dp] = decimalSep
	}
	for len(sv) > 0 && sv[0] == zeroDigit {
		sv = sv[1:]
	}
	for len(sv) > 0 && sv[len(sv)-1] == zeroDigit {
		sv = sv[:len(sv)-1]
	}
	decPos := runeIndex(sv, decimalSep, 0)
	padLeft := pic.minimumIntegerPartSize - decPos
	padRight := pic.minimumFractionalPartSize - (len(sv) - decPos - 1)
	if padLeft > 0 {
		sv = append([]rune(strings.Repeat(string(zeroDigit), padLeft)), sv...)
	}
	if padRight > 0 {
		sv = append(sv, []rune(strings.Repeat(string(zeroDigit), padRight))...)
	}
	decPos = runeIndex(sv, decimalSep, 0)
	insert := func(s []rune, at int, r rune) []rune {
		if at < 0 {
			at = 0
		}
		if at > len(s) {
			at = len(s)
		}
		out := make([]rune, 0, len(s)+1)
		out = append(out, s[:at]...)
		out = append(out, r)
		return append(out, s[at:]...)
	}
	if pic.regularGrouping > 0 {
		groupCount := (decPos - 1) / pic.regularGrouping
		for g := 1; g <= groupCount; g++ {
			sv = insert(sv, decPos-g*pic.regularGrouping, groupSep)
		}
	} else {
		for _, pos := range pic.integerGrouping {
			sv = insert(sv, decPos-pos, groupSep)
			decPos++
		}
	}
	decPos = runeIndex(sv, decimalSep, 0)
	for _, pos := range pic.fractionalGrouping {
		sv = insert(sv, pos+decPos+1, groupSep)
	}
	decPos = runeIndex(sv, decimalSep, 0)
	if !containsRune(pic.subpicture, decimalSep) || decPos == len(sv)-1 {
		sv = sv[:len(sv)-1]
	}
	if hasExp {
		se := makeString(float64(exponent), 0)
		if pl := pic.minimumExponentSize - len(se); pl > 0 {
			se = append([]rune(strings.Repeat(string(zeroDigit), pl)), se...)
		}
		sign := ""
		if exponent < 0 {
			sign = minusSign
		}
		sv = append(sv, []rune(string(expSep)+sign)...)
		sv = append(sv, se...)
	}
	return string(pic.prefix) + string(sv) + string(pic.suffix), nil
}

// toFixed mirrors Number#toFixed for the magnitudes format-number sees.
func toFixed(v float64, dp int) string {
	if v >= 1e21 {
		return formatJSNumber(v)
	}
	return strconv.FormatFloat(v, 'f', dp, 64)
}
