package kafka

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stepstream/express/aslpath"
)

// KeySource says where an execution's name (its idempotency key) comes
// from. The zero value names executions topic/partition/offset, which is
// unique per record and stable across re-deliveries.
type KeySource struct {
	expr   string
	path   *aslpath.Path // a JSONPath into the record value
	header string        // a record header
	recKey bool          // the record key
}

// ParseKeySource parses an idempotency key expression:
//
//	""               topic/partition/offset (the default)
//	"$.eventId"      a JSONPath into the record value
//	"header:NAME"    the value of a record header
//	"key"            the record key
//
// When the path or header is missing from a record, or the value found is
// not a string or number, the record falls back to topic/partition/offset.
func ParseKeySource(s string) (KeySource, error) {
	switch {
	case s == "" || s == "offset":
		return KeySource{}, nil
	case s == "key":
		return KeySource{expr: s, recKey: true}, nil
	case strings.HasPrefix(s, "header:"):
		h := strings.TrimPrefix(s, "header:")
		if h == "" {
			return KeySource{}, fmt.Errorf("%q: empty header name", s)
		}
		return KeySource{expr: s, header: h}, nil
	case strings.HasPrefix(s, "$"):
		x, err := aslpath.Parse(s)
		if err != nil {
			return KeySource{}, err
		}
		if x.Root() != aslpath.Input {
			return KeySource{}, fmt.Errorf("%q: the idempotency key must be a path into the record ($...)", s)
		}
		return KeySource{expr: s, path: x}, nil
	}
	return KeySource{}, fmt.Errorf("%q is not a JSONPath ($...), header:NAME, key or offset", s)
}

// String returns the expression the source was parsed from.
func (k KeySource) String() string { return k.expr }

// IsDefault reports whether keys are topic/partition/offset.
func (k KeySource) IsDefault() bool { return k.path == nil && k.header == "" && !k.recKey }

// key returns the idempotency key of r, whose value parsed as v; pre is
// r's partition's prefix (partitionPrefix) or nil.
func (k *KeySource) key(r *kgo.Record, v any, pre []byte) string {
	switch {
	case k.path != nil:
		x, _ := k.path.Get(nil, v)
		switch x := x.(type) {
		case string:
			if x != "" {
				// a copy: the key outlives the input document, whose
				// memory is reused (Processor.releaseMemory), and a dedup
				// entry keeps it for its window
				return strings.Clone(x)
			}
		case int64:
			return strconv.FormatInt(x, 10)
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case k.header != "":
		for i := range r.Headers {
			if r.Headers[i].Key == k.header && len(r.Headers[i].Value) > 0 {
				return string(r.Headers[i].Value)
			}
		}
	case k.recKey:
		if len(r.Key) > 0 {
			return string(r.Key)
		}
	}
	name, _ := offsetName(r, pre)
	return name
}
