package jsonv

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Object is a JSON object the engine builds itself (payload templates,
// ResultPath copies): its fields in order, found by a linear scan. For the
// small objects of a workflow that is several times cheaper to build and
// to read than a Go map, and it keeps the template's key order. Objects
// live inside the engine: everything handed out (task inputs, execution
// outputs, JSONata) is made plain with Plain first.
//
// An Object is immutable once another party may see it, like every value
// the engine passes around; only its builder (or the state that owns it,
// see express.Scope.OwnsInput) may add to it.
type Object struct {
	Fields []Field
	// shape, when set, lists the object's first keys in order (SetShape).
	shape *Shape
}

// Shape is the list of keys, in order, that every object built by one
// payload template starts with. A reader that has seen the shape before
// knows in which slot each of its keys is, without comparing keys: the
// slots never move, since an Object's fields are only ever appended to or
// given new values (Put, PutHash, AppendHash).
type Shape struct {
	Keys []string
}

// SetShape records that o's first len(s.Keys) fields have s's keys, in
// order; its builder calls it once they are written.
func (o *Object) SetShape(s *Shape) { o.shape = s }

// Shape is what SetShape recorded, or nil.
func (o *Object) Shape() *Shape { return o.shape }

// Field is one member of an Object. Hash is KeyHash(Key): comparing it
// first makes a lookup a few integer compares, whatever the keys look like.
type Field struct {
	Key  string
	Hash uint32
	// plain is set (by SetKey) when Key needs no escaping in JSON: the
	// writer copies it as it is. It sits in what would be padding.
	plain bool
	Val   any
}

// SetKey sets the field's key and its hash (KeyHash(key)). plain must be
// PlainKey(key): callers that set the same key many times (templates)
// work it out once.
func (f *Field) SetKey(key string, h uint32, plain bool) {
	f.Key, f.Hash, f.plain = key, h, plain
}

// PlainKey reports whether key is written in JSON as it is, between
// quotes: ASCII without control characters, '"' or '\\'.
func PlainKey(key string) bool { return plainRun(key, 0) == len(key) }

// KeyHash is the hash an Object keeps for a key (FNV-1a, 32 bits). Callers
// that look the same key up many times compute it once (compiled paths and
// templates do).
func KeyHash(key string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h
}

// NewObject returns an empty object with room for n fields. Small objects
// come with their fields in the same allocation.
func NewObject(n int) *Object {
	// Each class fills a size class of the allocator (Object is 32 bytes,
	// a Field 40): the smaller the object, the fewer bytes to clear and
	// pointer bits to write.
	switch {
	case n <= 2: // 112 bytes
		a := new(withFields[[2]Field])
		a.o.Fields = a.f[:0]
		return &a.o
	case n <= 4: // 192
		a := new(withFields[[4]Field])
		a.o.Fields = a.f[:0]
		return &a.o
	case n <= 6: // 272, in the 288-byte class
		a := new(withFields[[6]Field])
		a.o.Fields = a.f[:0]
		return &a.o
	case n <= 8: // 352
		a := new(withFields[[8]Field])
		a.o.Fields = a.f[:0]
		return &a.o
	case n <= 10: // 432, in the 448-byte class
		a := new(withFields[[10]Field])
		a.o.Fields = a.f[:0]
		return &a.o
	case n <= 12:
		// 512 bytes: the largest size class the allocator serves without
		// a header word, a quarter smaller than 16 fields
		a := new(withFields[[12]Field])
		a.o.Fields = a.f[:0]
		return &a.o
	case n <= 16:
		a := new(withFields[[16]Field])
		a.o.Fields = a.f[:0]
		return &a.o
	}
	return &Object{Fields: make([]Field, 0, n)}
}

// withFields is an object and the array of fields it starts with (F is
// an array of Field).
type withFields[F any] struct {
	o Object
	f F
}

// Get returns the value of key.
func (o *Object) Get(key string) (any, bool) {
	return o.GetHash(key, KeyHash(key))
}

// GetHash is Get with the key's hash already known.
func (o *Object) GetHash(key string, h uint32) (any, bool) {
	fs := o.Fields // a local slice: its length and base stay in registers
	for i := range fs {
		if f := &fs[i]; f.Hash == h && f.Key == key {
			return f.Val, true
		}
	}
	return nil, false
}

// GetHint is GetHash with an inline cache: *hint is the slot where the
// key was found last time (objects built by the same template have their
// keys in the same slots), tried first. The hint is read and written
// atomically, so one compiled path can serve any number of goroutines.
func (o *Object) GetHint(key string, h uint32, hint *int32) (any, bool) {
	fs := o.Fields
	i := int(atomic.LoadInt32(hint))
	if i < len(fs) {
		if f := &fs[i]; f.Hash == h && f.Key == key {
			return f.Val, true
		}
	}
	for i := range fs {
		if f := &fs[i]; f.Hash == h && f.Key == key {
			atomic.StoreInt32(hint, int32(i))
			return f.Val, true
		}
	}
	return nil, false
}

// Put sets key to v in place, replacing an existing value.
func (o *Object) Put(key string, v any) { o.PutHash(key, KeyHash(key), v) }

// PutHash is Put with the key's hash already known.
func (o *Object) PutHash(key string, h uint32, v any) {
	fs := o.Fields
	for i := range fs {
		if f := &fs[i]; f.Hash == h && f.Key == key {
			f.Val = v
			return
		}
	}
	o.Fields = append(o.Fields, Field{Key: key, Hash: h, Val: v})
}

// PutHashFrom is PutHash for a caller that knows the fields before start
// do not have key (see Shape).
func (o *Object) PutHashFrom(start int, key string, h uint32, v any) {
	fs := o.Fields[start:]
	for i := range fs {
		if f := &fs[i]; f.Hash == h && f.Key == key {
			f.Val = v
			return
		}
	}
	o.Fields = append(o.Fields, Field{Key: key, Hash: h, Val: v})
}

// AppendHash adds a field known not to be there yet (template keys are
// unique), with the key's hash already known.
func (o *Object) AppendHash(key string, h uint32, v any) {
	o.Fields = append(o.Fields, Field{Key: key, Hash: h, Val: v})
}

// Len is the number of fields.
func (o *Object) Len() int { return len(o.Fields) }

// With returns a copy of o with key set to v; o is not modified.
func (o *Object) With(key string, v any) *Object {
	c := &Object{Fields: make([]Field, len(o.Fields), len(o.Fields)+1)}
	copy(c.Fields, o.Fields)
	c.Put(key, v)
	return c
}

// Map returns the object as a Go map (values not converted).
func (o *Object) Map() map[string]any {
	m := make(map[string]any, len(o.Fields))
	for _, f := range o.Fields {
		m[f.Key] = f.Val
	}
	return m
}

// IsObject reports whether v is a JSON object (a map or an *Object).
func IsObject(v any) bool {
	switch v.(type) {
	case map[string]any, *Object:
		return true
	}
	return false
}

// Member returns the value of key in the object v (a map or an *Object).
func Member(v any, key string) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		x, ok := t[key]
		return x, ok
	case *Object:
		return t.Get(key)
	}
	return nil, false
}

// Plain returns v with every *Object turned into a map[string]any, for
// code outside the engine. Values without objects come back as they are;
// containers holding an *Object somewhere are copied, the rest shared.
func Plain(v any) any {
	switch t := v.(type) {
	case *Object:
		m := make(map[string]any, len(t.Fields))
		for _, f := range t.Fields {
			m[f.Key] = Plain(f.Val)
		}
		return m
	case map[string]any:
		var c map[string]any
		for k, e := range t {
			p := Plain(e)
			if c == nil && !same(p, e) {
				c = make(map[string]any, len(t))
				for k2, e2 := range t {
					c[k2] = e2
				}
			}
			if c != nil {
				c[k] = p
			}
		}
		if c != nil {
			return c
		}
		return t
	case []any:
		var c []any
		for i, e := range t {
			p := Plain(e)
			if c == nil && !same(p, e) {
				c = make([]any, len(t))
				copy(c, t)
			}
			if c != nil {
				c[i] = p
			}
		}
		if c != nil {
			return c
		}
		return t
	}
	return v
}

// same reports whether Plain returned its argument unchanged: only
// containers are ever replaced, and only when they held an *Object.
func same(p, e any) bool {
	switch e.(type) {
	case *Object:
		return false
	case map[string]any:
		pm, _ := p.(map[string]any)
		em := e.(map[string]any)
		return sameMapHeader(pm, em)
	case []any:
		ps, _ := p.([]any)
		es := e.([]any)
		return len(ps) == len(es) && (len(es) == 0 || &ps[0] == &es[0])
	}
	return true
}

func sameMapHeader(a, b map[string]any) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}

// ParsePlain is Parse followed by Plain: for documents read as plain maps
// (definitions, configs, test cases).
func ParsePlain(b []byte) (any, error) {
	v, err := Parse(b)
	if err != nil {
		return nil, err
	}
	return Plain(v), nil
}

// Arena hands out the objects (and short strings) one goroutine builds
// while it runs a workflow (an express.Scope) from shared allocations:
// four objects, their fields and two strings of up to 48 bytes together
// in one, instead of one allocation each. An object's fields have exactly
// the room asked for, so adding to one (Put) never reaches its
// neighbour's: it moves out as a slice would. What one allocation holds
// stays in memory as long as any of it is used, unless its Lease is
// released. The zero Arena is ready; a nil *Arena allocates each value on
// its own. An Arena is for one goroutine.
type Arena struct {
	objs   []Object
	fields []Field
	strs   []string
	bytes  []byte
	// head is the first word of the current allocation (see Lease).
	head *atomic.Uint64
}

// arenaObjects and arenaStrings are how many objects and strings an arena
// allocation holds, arenaBytes the room for the strings' bytes.
const (
	arenaObjects = 4
	arenaStrings = 2
	arenaBytes   = 48
)

// NewObject is NewObject(n) from the arena. hint is how many fields the
// caller expects to ask for in all (for instance, what the templates of a
// workflow's states ask for together): the first allocation has room for
// them, up to 32.
func (a *Arena) NewObject(n, hint int) *Object {
	if a == nil || n > 32 {
		return NewObject(n)
	}
	if len(a.objs) == cap(a.objs) || cap(a.fields)-len(a.fields) < n {
		a.refill(max(n, hint))
	}
	i := len(a.objs)
	a.objs = a.objs[:i+1]
	o := &a.objs[i]
	start := len(a.fields)
	a.fields = a.fields[:start+n]
	o.Fields = a.fields[start : start : start+n]
	return o
}

// NewString is NewString(n) from the arena's current allocation when it
// has room (an arena starts one for objects only).
func (a *Arena) NewString(n int) (buf []byte, v any) {
	if a == nil || n == 0 || len(a.strs) == cap(a.strs) || cap(a.bytes)-len(a.bytes) < n {
		return NewString(n)
	}
	i, start := len(a.strs), len(a.bytes)
	a.strs, a.bytes = a.strs[:i+1], a.bytes[:start+n]
	buf = a.bytes[start : start+n : start+n]
	h := &a.strs[i]
	*h = unsafe.String(&buf[0], n)
	return buf, box(stringType, unsafe.Pointer(h))
}

// arenaChunk is one arena allocation with room for F fields. head comes
// first: a *atomic.Uint64 to it is a pointer to the chunk. It holds the
// chunk's size class (the low 4 bits) and its generation (the rest, in
// steps of 16): even while the chunk is in use, odd while it waits in
// chunkPools for reuse.
type arenaChunk[F any] struct {
	head atomic.Uint64
	o    [arenaObjects]Object
	f    F
	s    [arenaStrings]string
	b    [arenaBytes]byte
}

// The arena's size classes: chunks with room for 8, 16, 20, 24 and 32
// fields.
type (
	chunk8  = arenaChunk[[8]Field]
	chunk16 = arenaChunk[[16]Field]
	chunk20 = arenaChunk[[20]Field]
	chunk24 = arenaChunk[[24]Field]
	chunk32 = arenaChunk[[32]Field]
)

const genStep = 16 // a generation is the head's bits above the class

var (
	// chunkPools hold released chunks by class, cleared, for refill (and
	// leased documents, class docClass, for ParseLeased).
	chunkPools [6]sync.Pool
	// recycling is set once a chunk has been released: until then refill
	// does not look in the (empty) pools.
	recycling atomic.Bool
)

// docClass is the class of a leasedDoc in its head.
const docClass = 5

// leasedDoc is the memory of a small document parsed by ParseLeased: its
// chunk (see docChunk) and room for its text copy and first slab of
// numbers (a text under 272 bytes is at most 34 words, the slab at most
// 16). head comes first, as in arenaChunk.
type leasedDoc struct {
	head atomic.Uint64
	d    docChunk
	text [50]uint64
}

// takeDoc returns a leased document's memory, a released one if any.
func takeDoc() *leasedDoc {
	if ld, _ := chunkPools[docClass].Get().(*leasedDoc); ld != nil {
		ld.head.Add(genStep) // in use again
		return ld
	}
	ld := new(leasedDoc)
	ld.head.Store(docClass)
	return ld
}

// refill starts a new allocation with room for at least n fields (n <= 32):
// 536, 856, 1,016, 1,176 or 1,496 bytes, plus the 8-byte header the
// allocator adds to objects with pointers over 512 bytes: in size classes
// of 576, 896, 1,024, 1,280 and 1,536 bytes. A released chunk of the
// class is taken first.
func (a *Arena) refill(n int) {
	switch {
	case n <= 8:
		takeChunk[[8]Field](a, 0)
	case n <= 16:
		takeChunk[[16]Field](a, 1)
	case n <= 20:
		takeChunk[[20]Field](a, 2)
	case n <= 24:
		takeChunk[[24]Field](a, 3)
	default:
		takeChunk[[32]Field](a, 4)
	}
}

func takeChunk[F any](a *Arena, class uint64) {
	var c *arenaChunk[F]
	if recycling.Load() {
		if c, _ = chunkPools[class].Get().(*arenaChunk[F]); c != nil {
			c.head.Add(genStep) // in use again: the generation is even
		}
	}
	if c == nil {
		c = new(arenaChunk[F])
		c.head.Store(class)
	}
	nf := int(unsafe.Sizeof(c.f) / unsafe.Sizeof(Field{}))
	a.objs, a.strs, a.bytes, a.head = c.o[:0], c.s[:0], c.b[:0], &c.head
	a.fields = unsafe.Slice((*Field)(unsafe.Pointer(&c.f)), nf)[:0]
}

// Lease is a claim on an arena's current allocation, taken when the
// arena's goroutine is done with it (see Arena.Lease). Its holder calls
// Release once nothing refers to any value the allocation holds any more.
// Copies of a Lease are one claim: the first Release of any of them hands
// the memory back; every other Release of them does nothing, even after
// the memory has gone to another arena (the chunk's generation has moved
// on). The zero Lease holds nothing.
type Lease struct {
	head *atomic.Uint64
	gen  uint64
}

// Lease returns a claim on the arena's current allocation (the zero Lease
// when it has none) and forgets that allocation: the arena's next value
// comes from a new one. Earlier allocations are left to the collector.
func (a *Arena) Lease() Lease {
	if a == nil || a.head == nil {
		return Lease{}
	}
	l := Lease{head: a.head, gen: a.head.Load()}
	*a = Arena{}
	return l
}

// Release hands the leased allocation back for reuse by any arena: every
// object, field and string it holds is cleared, and later appears again
// as values other executions build. The caller must hold no value from
// it any more, nor anybody else. It reports whether it released the
// memory (false for the zero Lease, or when a copy of the lease was
// released first).
func (l Lease) Release() bool {
	if l.head == nil || !l.head.CompareAndSwap(l.gen, l.gen+genStep) {
		return false
	}
	switch class := l.gen % genStep; class {
	case 0:
		putChunk((*chunk8)(unsafe.Pointer(l.head)), class)
	case 1:
		putChunk((*chunk16)(unsafe.Pointer(l.head)), class)
	case 2:
		putChunk((*chunk20)(unsafe.Pointer(l.head)), class)
	case 3:
		putChunk((*chunk24)(unsafe.Pointer(l.head)), class)
	case 4:
		putChunk((*chunk32)(unsafe.Pointer(l.head)), class)
	default:
		// a leased document: its text holds no pointers and is written
		// again before it is read
		ld := (*leasedDoc)(unsafe.Pointer(l.head))
		ld.d = docChunk{}
		chunkPools[docClass].Put(ld)
		return true
	}
	if !recycling.Load() {
		recycling.Store(true)
	}
	return true
}

func putChunk[F any](c *arenaChunk[F], class uint64) {
	c.o = [arenaObjects]Object{}
	clear(unsafe.Slice((*Field)(unsafe.Pointer(&c.f)), unsafe.Sizeof(c.f)/unsafe.Sizeof(Field{})))
	c.s = [arenaStrings]string{}
	c.b = [arenaBytes]byte{}
	chunkPools[class].Put(c)
}
