package jsonata

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	mrand "math/rand/v2"
	"strings"
)

// StepFunctionsFuncs returns the functions AWS Step Functions adds to
// JSONata, for use as Env.Funcs:
//
//	$partition(array, size)      split array into chunks of size (last may be shorter)
//	$range(start, end, step)     numbers from start to end inclusive, by step (may be negative)
//	$hash(value, algorithm)      hex digest; algorithm MD5, SHA-1, SHA-256, SHA-384 or SHA-512
//	$random([seed])              number in [0, 1); with an integer seed the result is deterministic
//	$uuid()                      random version 4 UUID
//	$parse(jsonString)           the JSON value the string encodes
//
// It also hides $eval, which Step Functions does not allow. Errors from
// these functions have code D3150 (bad argument value) or the usual
// signature codes (T0410...). The seeded $random is deterministic for this
// implementation but does not reproduce AWS's exact numbers.
//
// A new map is returned on every call; callers may add to it.
func StepFunctionsFuncs() map[string]Func {
	must := func(name, sig string, fn GoFunc) Func {
		f, err := NewFunc(name, sig, fn)
		if err != nil {
			panic(err) // the signatures below are constants
		}
		return f
	}
	native := func(name, sig string, params []string, fn nativeFn) Func {
		s, err := parseSignature(sig)
		if err != nil {
			panic(err)
		}
		b := &builtin{name: name, sig: s, arity: len(params), params: params, fn: fn}
		return Func{f: &Function{kind: fnNative, native: b, sig: s, name: name}}
	}
	return map[string]Func{
		"partition": must("partition", "<an:a>", awsPartition),
		"range":     native("range", "<nnn?:a>", []string{"start", "end", "step"}, awsRange),
		"hash":      must("hash", "<s-s:s>", awsHash),
		"random":    must("random", "<n?:n>", awsRandom),
		"uuid":      must("uuid", "<:s>", awsUUID),
		"parse":     must("parse", "<s-:x>", awsParse),
		"eval":      {}, // hidden: Step Functions disables $eval
	}
}

func awsErr(format string, args ...any) error {
	e := errVal("D3150", fmt.Sprintf(format, args...))
	e.Message = fmt.Sprintf(format, args...)
	return e
}

func awsPartition(args []any) (any, error) {
	items, _ := asArray(args[0])
	size, _ := toNumber(args[1])
	if size < 1 || !isInteger(size) {
		return nil, awsErr("$partition: size must be a positive integer, got %v", args[1])
	}
	n := int(math.Min(size, float64(len(items)+1)))
	out := make([]any, 0, (len(items)+n-1)/max(n, 1))
	for i := 0; i < len(items); i += n {
		end := min(i+n, len(items))
		chunk := make([]any, end-i)
		copy(chunk, items[i:end])
		out = append(out, chunk)
	}
	return out, nil
}

const maxAWSRange = 1_000_000

// awsRange is a native function rather than a GoFunc so that it can
// charge its result to the Budget before building it.
func awsRange(c *evalCtx, args []any, _ any, _ *frame) (any, error) {
	start, _ := toNumber(arg(args, 0))
	end, _ := toNumber(arg(args, 1))
	step := 1.0
	if s := arg(args, 2); !isUndef(s) {
		step, _ = toNumber(s)
	}
	if step == 0 || math.IsNaN(step) || math.IsInf(step, 0) {
		return nil, awsErr("$range: step must be a non-zero number")
	}
	count := math.Floor((end-start)/step) + 1
	if count <= 0 {
		return []any{}, nil
	}
	if count > maxAWSRange {
		return nil, awsErr("$range: at most %d elements may be generated, requested %v", maxAWSRange, count)
	}
	if err := c.build((slotBytes + 8) * int(count)); err != nil {
		return nil, err
	}
	out := make([]any, 0, int(count))
	for i := 0; i < int(count); i++ {
		out = append(out, start+float64(i)*step)
	}
	// AWS returns the range as a sequence, so a single number collapses to
	// that number ($range(1, 1, 1) is 1, not [1]), as recorded against AWS.
	return &seq{isSeq: true, items: out}, nil
}

func awsHash(args []any) (any, error) {
	s, _ := args[0].(string)
	alg, _ := args[1].(string)
	var h hash.Hash
	switch strings.ToUpper(alg) {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return nil, awsErr("$hash: unsupported algorithm %q (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)", alg)
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func awsRandom(args []any) (any, error) {
	if len(args) == 0 || isUndef(args[0]) {
		return mrand.Float64(), nil
	}
	seed, _ := toNumber(args[0])
	if !isInteger(seed) {
		return nil, awsErr("$random: seed must be an integer")
	}
	r := mrand.New(mrand.NewPCG(uint64(int64(seed)), 0x9e3779b97f4a7c15))
	return r.Float64(), nil
}

func awsUUID(args []any) (any, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, awsErr("$uuid: %v", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:]), nil
}

func awsParse(args []any) (any, error) {
	s, _ := args[0].(string)
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, awsErr("$parse: invalid JSON: %v", err)
	}
	if d.More() {
		return nil, awsErr("$parse: invalid JSON: trailing data")
	}
	return plainNumbers(v), nil
}

// plainNumbers converts json.Number to int64 (integers) or float64, the
// types ojg produces.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = plainNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = plainNumbers(x[k])
		}
	}
	return v
}
