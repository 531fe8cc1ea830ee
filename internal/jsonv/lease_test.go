package jsonv

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// chunkSizes are the arena classes' sizes in bytes, for Lease.Holds.
var chunkSizes = [6]uintptr{unsafe.Sizeof(chunk8{}), unsafe.Sizeof(chunk16{}),
	unsafe.Sizeof(chunk20{}), unsafe.Sizeof(chunk24{}), unsafe.Sizeof(chunk32{}),
	unsafe.Sizeof(leasedDoc{})}

// Holds reports whether s's bytes lie in the leased allocation: such a
// string changes once the lease is released. (For the tests only.)
func (l Lease) Holds(s string) bool {
	if l.head == nil || len(s) == 0 {
		return false
	}
	p, start := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(l.head))
	return p >= start && p < start+chunkSizes[l.gen%genStep]
}

// fill builds two objects and a string in a, as a workflow's templates
// do, each holding tag.
func fill(a *Arena, tag int64) (*Object, *Object, string) {
	o1 := a.NewObject(3, 20)
	o1.Put("a", tag)
	o1.Put("b", tag)
	o1.SetShape(&Shape{Keys: []string{"a", "b"}})
	o2 := a.NewObject(2, 20)
	o2.Put("c", tag)
	buf, v := a.NewString(5)
	copy(buf, strings.Repeat(string(rune('a'+tag%26)), 5))
	return o1, o2, v.(string)
}

// TestLeaseReuse: a released allocation comes back to the next arena of
// its class, cleared; copies of a lease release it once, and a stale copy
// released after the memory went to another arena does nothing to it.
func TestLeaseReuse(t *testing.T) {
	var zero Lease
	if zero.Release() || zero.Holds("x") {
		t.Fatal("the zero lease holds something")
	}
	var empty Arena
	if l := empty.Lease(); l != (Lease{}) {
		t.Fatal("an arena with no allocation leased one")
	}
	reused := false
	for i := 0; i < 200 && !reused; i++ { // sync.Pool may drop what it is given (always, now and then, under -race)
		var a Arena
		o1, _, s := fill(&a, 1)
		l := a.Lease()
		if !l.Holds(s) || l.Holds(strings.Clone(s)) {
			t.Fatal("Holds does not tell the arena's string from a copy")
		}
		if len(a.objs) != 0 || a.head != nil {
			t.Fatal("the arena kept its allocation after Lease")
		}
		stale := l // a copy kept by mistake
		if !l.Release() {
			t.Fatal("first Release did nothing")
		}
		if l.Release() || stale.Release() {
			t.Fatal("a lease released twice")
		}
		var b Arena
		p1 := b.NewObject(3, 20)
		if p1 != o1 {
			continue // the pool dropped it
		}
		reused = true
		if len(p1.Fields) != 0 || p1.Shape() != nil {
			t.Fatalf("reused object not cleared: %d fields, shape %v", len(p1.Fields), p1.Shape())
		}
		if f := b.fields[:cap(b.fields)]; f[0].Key != "" || f[0].Val != nil || f[3].Val != nil {
			t.Fatalf("reused fields not cleared: %+v", f[:4])
		}
		p1.Put("a", int64(2))
		if stale.Release() {
			t.Fatal("a stale copy released memory another arena uses")
		}
		var c Arena
		if q := c.NewObject(3, 20); q == p1 {
			t.Fatal("memory in use handed out again")
		}
		if v, _ := p1.Get("a"); v != int64(2) {
			t.Fatalf("object in use changed: %v", v)
		}
	}
	if !reused {
		t.Fatal("a released allocation was never reused in 200 tries")
	}
}

// TestLeaseConcurrent: goroutines filling, leasing and releasing arenas
// while one holds a lease it has not released: what it holds never
// changes (run it with -race too).
func TestLeaseConcurrent(t *testing.T) {
	var held Arena
	h1, h2, hs := fill(&held, 7)
	hl := held.Lease()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				var a Arena
				tag := int64(g*10000 + i)
				o1, o2, s := fill(&a, tag)
				if v, _ := o1.Get("b"); v != tag {
					t.Errorf("object changed under its arena: %v, want %d", v, tag)
					return
				}
				if v, _ := o2.Get("c"); v != tag || s != strings.Repeat(string(rune('a'+tag%26)), 5) {
					t.Errorf("object or string changed under its arena: %v %q", v, s)
					return
				}
				a.Lease().Release()
			}
		}(g)
	}
	wg.Wait()
	if v, _ := h1.Get("b"); v != int64(7) || len(h1.Fields) != 2 || h1.Shape() == nil {
		t.Fatalf("held object changed: %+v", h1.Fields)
	}
	if v, _ := h2.Get("c"); v != int64(7) || hs != "hhhhh" {
		t.Fatalf("held object or string changed: %v %q", v, hs)
	}
	if !hl.Release() {
		t.Fatal("the held lease was released by another")
	}
}

// TestParseLeased: a small document parsed with ParseLeased reads as
// Parse reads it and comes in memory a released document left; a document
// nobody released keeps its values while others are parsed, released and
// parsed again in its place's neighbours (run with -race too); large and
// malformed documents come with no lease.
func TestParseLeased(t *testing.T) {
	const doc = `{"deviceId":"dev-42","ts":"2026-11-22T10:00:00Z","type":"temperature","value":21.7,"unit":"C","battery":0.83,"tags":["roof","north"]}`
	var p Parser
	held, hl, err := p.ParseLeased([]byte(doc))
	if err != nil || hl == (Lease{}) {
		t.Fatalf("no lease for a small document: %v", err)
	}
	want := string(AppendJSON(nil, held))
	if pv, _ := Parse([]byte(doc)); string(AppendJSON(nil, pv)) != want {
		t.Fatalf("ParseLeased read %s", want)
	}
	if s, _ := held.(*Object).Get("deviceId"); !hl.Holds(s.(string)) {
		t.Fatal("the document's strings are not in its leased memory")
	}
	reused := false
	for i := 0; i < 200 && !reused; i++ {
		v, l, _ := p.ParseLeased([]byte(doc))
		o := v.(*Object)
		l.Release()
		if l.Release() {
			t.Fatal("a document released twice")
		}
		v2, l2, _ := p.ParseLeased([]byte(`{"a":"bb","c":[1.5,2]}`))
		if v2.(*Object) == o {
			reused = true
		}
		if got := string(AppendJSON(nil, v2)); got != `{"a":"bb","c":[1.5,2]}` {
			t.Fatalf("parsed in reused memory: %s", got)
		}
		l2.Release()
	}
	if !reused {
		t.Fatal("a released document's memory was never reused in 200 tries")
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var p Parser
			d := fmt.Appendf(nil, `{"g":"goroutine-%d","n":%d.5,"t":["x%d"]}`, g, g, g)
			for i := 0; i < 2000; i++ {
				v, l, err := p.ParseLeased(d)
				if err != nil || string(AppendJSON(nil, v)) != string(d) {
					t.Errorf("%s: %s %v", d, AppendJSON(nil, v), err)
					return
				}
				l.Release()
			}
		}(g)
	}
	wg.Wait()
	if got := string(AppendJSON(nil, held)); got != want {
		t.Fatalf("held document changed: %s", got)
	}
	hl.Release()
	big := `{"s":"` + strings.Repeat("x", 300) + `"}`
	if _, l, err := p.ParseLeased([]byte(big)); err != nil || l != (Lease{}) {
		t.Fatalf("large document: lease %v, %v", l, err)
	}
	if v, l, err := p.ParseLeased([]byte(`{"a":[1,}`)); err == nil || v != nil || l != (Lease{}) {
		t.Fatalf("malformed document: %v %v %v", v, l, err)
	}
}
