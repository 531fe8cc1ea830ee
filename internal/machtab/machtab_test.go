package machtab

import (
	"sync"
	"testing"
)

type machine struct{ id int }

// TestBound: the tables kept never exceed Max, the one made current
// least recently goes first, a machine in use keeps its table, and a
// dropped machine gets a new one.
func TestBound(t *testing.T) {
	made := 0
	s := Tables[machine, int]{Max: 3, New: func(m *machine) int { made++; return m.id }}
	ms := make([]*machine, 6)
	for i := range ms {
		ms[i] = &machine{i}
	}
	steps := []struct {
		get  int
		kept []int // machines kept afterwards, least recent first
		made int
	}{
		{0, []int{0}, 1},
		{1, []int{0, 1}, 2},
		{0, []int{1, 0}, 2},
		{2, []int{1, 0, 2}, 3},
		{3, []int{0, 2, 3}, 4}, // 1 dropped
		{0, []int{2, 3, 0}, 4},
		{1, []int{3, 0, 1}, 5}, // made again
		{1, []int{3, 0, 1}, 5}, // the current: no lock
	}
	for i, st := range steps {
		e := s.Get(ms[st.get])
		if e.M != ms[st.get] || e.T != st.get {
			t.Fatalf("step %d: entry %v", i, e)
		}
		var kept []int
		for _, x := range s.list {
			kept = append(kept, x.M.id)
		}
		if len(kept) != len(st.kept) || made != st.made {
			t.Fatalf("step %d: kept %v made %d; want %v, %d", i, kept, made, st.kept, st.made)
		}
		for j := range kept {
			if kept[j] != st.kept[j] {
				t.Fatalf("step %d: kept %v; want %v", i, kept, st.kept)
			}
		}
		if k, n := s.Len(); k != len(kept) || n != made {
			t.Fatalf("step %d: Len %d, %d", i, k, n)
		}
	}
	for _, x := range s.list[len(s.list):cap(s.list)] {
		if x != nil {
			t.Fatal("the array keeps a dropped entry")
		}
	}
}

// TestConcurrent: more machines than Max used from many goroutines at
// once always get their own table (run with -race).
func TestConcurrent(t *testing.T) {
	s := Tables[machine, int]{Max: 2, New: func(m *machine) int { return m.id }}
	ms := make([]*machine, 5)
	for i := range ms {
		ms[i] = &machine{i}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				m := ms[(g+i)%len(ms)]
				if e := s.Get(m); e.M != m || e.T != m.id {
					t.Errorf("machine %d got the table of %d", m.id, e.T)
					return
				}
			}
		}()
	}
	wg.Wait()
	if k, _ := s.Len(); k > 2 {
		t.Errorf("%d tables kept", k)
	}
}
