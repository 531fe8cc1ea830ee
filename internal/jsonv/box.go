package jsonv

import (
	"math"
	"unsafe"
)

// Storing a string or a number in an interface (any) allocates one small
// object per value: about half of the allocations of parsing a typical
// reading. The parser instead keeps a document's strings and numbers in a
// few slabs and makes each interface value point into its slab, which is
// what the runtime's own conversion does with a fresh allocation. The
// values are never written through the interface, so sharing a slab is
// safe; a slab stays alive while any value points into it (a few hundred
// bytes per document).

// eface is the layout of an interface value of type any.
type eface struct{ typ, data unsafe.Pointer }

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType  = typeOf("")
	float64Type = typeOf(float64(0))
	int64Type   = typeOf(int64(0))
	arrayType   = typeOf([]any(nil))
)

// box returns the interface value of dynamic type typ whose value is at data.
func box(typ, data unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, data
	return v
}

// slabs hold the boxed scalars of one document.
type slabs struct {
	strs  []string
	nums  []uint64 // float64 and int64 bits
	chunk int      // slab length
	// doc, for a small document, is where its first slab of strings came
	// from, with room for one object and one array (see docChunk).
	doc *docChunk
	// docObj and docArr are set once doc's object and array are taken.
	docObj, docArr bool
}

// docChunk is the first slab of strings of a small document (a reading of
// up to a few hundred bytes) with room for one object of up to 8 fields and one
// array of up to 4 elements beside it: one allocation instead of three.
// What it holds stays in memory while any of it is used.
type docChunk struct {
	strs [docStrings]string
	o    Object
	f    [8]Field
	ah   []any
	ae   [4]any
}

// docStrings is the length of a docChunk's slab of strings.
const docStrings = 8

func (s *slabs) str(v string) any {
	if v == "" {
		return "" // boxing the empty string does not allocate
	}
	if len(s.strs) == cap(s.strs) {
		if s.doc == nil && s.chunk <= 2*docStrings { // a document under 272 bytes
			s.doc = new(docChunk)
			s.strs = s.doc.strs[:0]
		} else {
			s.strs = make([]string, 0, s.chunk) // the full slab stays where it is
		}
	}
	s.strs = append(s.strs, v)
	return box(stringType, unsafe.Pointer(&s.strs[len(s.strs)-1]))
}

func (s *slabs) num(typ unsafe.Pointer, bits uint64) any {
	if len(s.nums) == cap(s.nums) {
		s.nums = make([]uint64, 0, s.chunk)
	}
	s.nums = append(s.nums, bits)
	return box(typ, unsafe.Pointer(&s.nums[len(s.nums)-1]))
}

func (s *slabs) int64(n int64) any {
	if n >= 0 && n < 256 {
		return n // the runtime boxes small integers without allocating
	}
	return s.num(int64Type, uint64(n))
}

func (s *slabs) float64(f float64) any {
	return s.num(float64Type, math.Float64bits(f))
}

// array is array(elems) in the document's chunk when it has room.
func (s *slabs) array(elems []any) any {
	if d := s.doc; d != nil && !s.docArr && len(elems) <= len(d.ae) {
		s.docArr = true
		d.ah = d.ae[:len(elems):len(elems)]
		copy(d.ah, elems)
		return box(arrayType, unsafe.Pointer(&d.ah))
	}
	return array(elems)
}

// object returns an empty object with room for n fields, the document
// chunk's when it has room.
func (s *slabs) object(n int) *Object {
	if d := s.doc; d != nil && !s.docObj && n <= len(d.f) {
		s.docObj = true
		d.o.Fields = d.f[:0]
		return &d.o
	}
	return NewObject(n)
}

// claimObject gives the document chunk's object, with no fields yet, to
// the document's outermost object, which reads its fields into it
// directly; the chunk is made when the document is small and has none
// yet. It returns nil when there is no chunk object to give.
func (s *slabs) claimObject() *Object {
	if s.doc == nil {
		if s.chunk > 2*docStrings || len(s.strs) > 0 {
			return nil
		}
		s.doc = new(docChunk)
		s.strs = s.doc.strs[:0]
	}
	if s.docObj {
		return nil
	}
	s.docObj = true
	d := s.doc
	d.o.Fields = d.f[:0]
	return &d.o
}

// unclaimObject gives the chunk's object back, its fields cleared (the
// object that claimed it has more than fit, or duplicate keys to resolve).
func (s *slabs) unclaimObject() {
	clear(s.doc.f[:])
	s.doc.o.Fields = nil
	s.docObj = false
}

// array returns an array holding a copy of elems. Small arrays come in one
// allocation with their header, which the interface value points to.
func array(elems []any) any {
	var h *[]any
	switch n := len(elems); {
	case n <= 2:
		a := new(struct {
			h []any
			e [2]any
		})
		a.h, h = a.e[:n:n], &a.h
	case n <= 4:
		a := new(struct {
			h []any
			e [4]any
		})
		a.h, h = a.e[:n:n], &a.h
	case n <= 8:
		a := new(struct {
			h []any
			e [8]any
		})
		a.h, h = a.e[:n:n], &a.h
	default:
		a := make([]any, n)
		copy(a, elems)
		return a
	}
	copy(*h, elems)
	return box(arrayType, unsafe.Pointer(h))
}

// NewString returns a buffer of n bytes and the string value (an any
// holding a string) whose bytes it is. The caller fills buf before anyone
// sees v and never writes it afterwards. Strings up to 112 bytes come in
// one allocation with their header, which v points to (converting a built
// string to any allocates the header on its own): a string built for a
// payload (States.Format) costs one allocation, not two.
func NewString(n int) (buf []byte, v any) {
	var h *string
	switch {
	case n == 0:
		return nil, ""
	case n <= 16:
		a := new(headed[[16]byte])
		buf, h = a.b[:n], &a.h
	case n <= 48:
		a := new(headed[[48]byte])
		buf, h = a.b[:n], &a.h
	case n <= 80:
		a := new(headed[[80]byte])
		buf, h = a.b[:n], &a.h
	case n <= 112:
		a := new(headed[[112]byte])
		buf, h = a.b[:n], &a.h
	default:
		buf, h = make([]byte, n), new(string)
	}
	*h = unsafe.String(&buf[0], n)
	return buf, box(stringType, unsafe.Pointer(h))
}

// headed is a string's header and its bytes, B an array of bytes
// (16, 48, 80 or 112: with the header, an allocator size class).
type headed[B any] struct {
	h string
	b B
}
