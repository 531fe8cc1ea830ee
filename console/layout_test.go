package console

import (
	"os"
	"testing"
)

func TestModel(t *testing.T) {
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"M"},{"Variable":"$.y","IsPresent":true,"Next":"M"}],"Default":"F"},
		"M":{"Type":"Map","ItemProcessor":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"Next":"P","Catch":[{"ErrorEquals":["States.TaskFailed","States.Timeout"],"Next":"F"}]},
		"P":{"Type":"Parallel","Branches":[{"StartAt":"B1","States":{"B1":{"Type":"Succeed"}}},{"StartAt":"B2","States":{"B2":{"Type":"Pass","Next":"B3"},"B3":{"Type":"Pass","End":true}}}],"End":true},
		"F":{"Type":"Fail"},
		"Orphan":{"Type":"Pass","End":true}}}`
	m, err := ModelFromDefinition([]byte(def))
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]Node{}
	for _, n := range m.Nodes {
		nodes[n.Name] = n
	}
	wantGroup := map[string]int{"A": -1, "M": -1, "P": -1, "F": -1, "Orphan": -1, "I": 0, "B1": 1, "B2": 2, "B3": 2}
	for n, g := range wantGroup {
		if nodes[n].Group != g {
			t.Errorf("%s in group %d, want %d", n, nodes[n].Group, g)
		}
	}
	if len(m.Nodes) != len(wantGroup) || m.Start != "A" || m.Nodes[0].Name != "A" {
		t.Errorf("nodes %+v", m.Nodes)
	}
	wantGroups := []Group{{Owner: "M", Start: "I"}, {Owner: "P", Start: "B1"}, {Owner: "P", Branch: 1, Start: "B2"}}
	if len(m.Groups) != 3 {
		t.Fatalf("groups %+v", m.Groups)
	}
	for i, g := range wantGroups {
		if m.Groups[i] != g {
			t.Errorf("group %d = %+v, want %+v", i, m.Groups[i], g)
		}
	}
	wantEdges := map[Edge]bool{
		{From: "A", To: "M", Kind: EdgeChoice, Label: "rule 1"}: true, {From: "A", To: "M", Kind: EdgeChoice, Label: "rule 2"}: true,
		{From: "A", To: "F", Kind: EdgeDefault, Label: "Default"}: true, {From: "M", To: "P", Kind: EdgeNext}: true,
		{From: "M", To: "F", Kind: EdgeCatch, Label: "States.TaskFailed, States.Timeout"}: true, {From: "B2", To: "B3", Kind: EdgeNext}: true,
	}
	for _, e := range m.Edges {
		if !wantEdges[e] {
			t.Errorf("unexpected edge %+v", e)
		}
		delete(wantEdges, e)
	}
	for e := range wantEdges {
		t.Errorf("missing edge %+v", e)
	}
	// Two rules to the same state are one drawn line.
	d := Layout(m)
	lines := 0
	for _, e := range d.Edges {
		if e.From == "A" && e.To == "M" {
			lines++
			if e.Label != "rule 1, rule 2" {
				t.Errorf("label %q", e.Label)
			}
		}
	}
	if lines != 1 {
		t.Errorf("%d lines A→M", lines)
	}
}

func TestModelErrors(t *testing.T) {
	for _, def := range []string{`[`, `{}`, `{"StartAt":"A"}`, `{"StartAt":"A","States":{"A":1}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Map","Next":"B"}}}`,
		`{"StartAt":"A","States":{"A":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}]}}}`} {
		if _, err := ModelFromDefinition([]byte(def)); err == nil {
			t.Errorf("%s: no error", def)
		}
	}
}

// TestLayoutReadable lays out 37 states (choices, a loop, catches, a Map
// and a Parallel) and checks that nothing overlaps: boxes of a scope,
// nested boxes inside their frames, edge counts with boxes and with each
// other; and that everything is inside the drawing.
func TestLayoutReadable(t *testing.T) {
	for _, file := range []string{"testdata/big.asl.json", "../daemon/iot-reference.asl.json"} {
		t.Run(file, func(t *testing.T) {
			def, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ModelFromDefinition(def)
			if err != nil {
				t.Fatal(err)
			}
			d := Layout(m)
			if len(d.Nodes) != len(m.Nodes) {
				t.Fatalf("%d boxes for %d states", len(d.Nodes), len(m.Nodes))
			}
			box := map[string]Box{}
			for _, b := range d.Nodes {
				box[b.Name] = b
			}
			group := map[string]int{}
			for _, n := range m.Nodes {
				group[n.Name] = n.Group
			}
			inside := func(a, b Rect) bool {
				return a.X >= b.X && a.Y >= b.Y && a.X+a.W <= b.X+b.W && a.Y+a.H <= b.Y+b.H
			}
			all := Rect{0, 0, d.Width, d.Height}
			for _, a := range d.Nodes {
				ra := Rect{a.X, a.Y, a.W, a.H}
				if !inside(ra, all) {
					t.Errorf("%s %+v outside the drawing %vx%v", a.Name, ra, d.Width, d.Height)
				}
				if g := group[a.Name]; g >= 0 {
					o := box[m.Groups[g].Owner]
					f := o.Frames[m.Groups[g].Branch]
					if !inside(ra, f) {
						t.Errorf("%s %+v outside its frame %+v of %s", a.Name, ra, f, o.Name)
					}
				}
				for _, b := range d.Nodes {
					if a.Name < b.Name && group[a.Name] == group[b.Name] && overlap(ra, Rect{b.X, b.Y, b.W, b.H}) {
						t.Errorf("%s and %s overlap", a.Name, b.Name)
					}
				}
			}
			var labels []Rect
			for _, e := range d.Edges {
				if len(e.Points) < 2 {
					t.Errorf("edge %s→%s has %d points", e.From, e.To, len(e.Points))
				}
				r := Rect{e.At[0] - labelW/2, e.At[1] - labelH/2, labelW, labelH}
				if !inside(r, all) {
					t.Errorf("count of %s→%s outside the drawing", e.From, e.To)
				}
				for _, l := range labels {
					if overlap(r, l) {
						t.Errorf("count of %s→%s overlaps another", e.From, e.To)
					}
				}
				labels = append(labels, r)
				for _, b := range d.Nodes {
					h := b.H
					if len(b.Frames) > 0 {
						h = nodeH // a compound box's body holds its scopes
					}
					if overlap(r, Rect{b.X, b.Y, b.W, h}) {
						t.Errorf("count of %s→%s overlaps %s", e.From, e.To, b.Name)
					}
				}
			}
			// the loop WaitStock → CheckStock is drawn as one going up
			for _, e := range d.Edges {
				if e.From == "WaitStock" && e.To == "CheckStock" && !e.Back {
					t.Errorf("loop edge not marked back")
				}
			}
		})
	}
}

func FuzzModel(f *testing.F) {
	f.Add([]byte(tiny))
	if b, err := os.ReadFile("testdata/big.asl.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A"}}}`))
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Parallel","Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Z"}}}]}}}`))
	f.Fuzz(func(t *testing.T, def []byte) {
		m, err := ModelFromDefinition(def)
		if err != nil {
			return
		}
		Layout(m) // never panics, whatever the model
	})
}
