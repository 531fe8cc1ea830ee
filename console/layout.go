package console

import (
	"math"
	"sort"
	"strings"
)

// Drawing is a Model laid out for SVG: top to bottom, in pixels.
type Drawing struct {
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Nodes  []Box   `json:"nodes"`
	Edges  []Line  `json:"edges"`
}

// Box is a drawn state. A Map or Parallel state is a box around its
// scopes (Frames: one per branch, the item processor of a Map).
type Box struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	W      float64 `json:"w"`
	H      float64 `json:"h"`
	Frames []Rect  `json:"frames,omitempty"`
}

// Rect is a rectangle.
type Rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Line is a drawn transition: a polyline through Points (draw it smooth),
// with its count shown at Label. Edges of the model with the same ends are
// one Line (their labels joined): transitions are counted per pair of
// states. Back is set for an edge that goes up (a loop).
type Line struct {
	From   string       `json:"from"`
	To     string       `json:"to"`
	Kind   EdgeKind     `json:"kind"`
	Label  string       `json:"label"`
	Points [][2]float64 `json:"points"`
	Back   bool         `json:"back,omitempty"`
	At     [2]float64   `json:"at"`
}

// Layout geometry, in pixels.
const (
	nodeH      = 58.0  // a state: name and two lines of counters
	minNodeW   = 178.0 // fits the counters
	charW      = 7.6   // of the 13 px name font
	hGap       = 40.0  // between boxes of a layer
	vGap       = 50.0  // between layers: room for the edge counts
	dummyW     = 48.0  // a long edge passing a layer: room for its count
	framePad   = 14.0
	frameGap   = 18.0
	labelW     = 46.0 // an edge count's box
	labelH     = 16.0
	marginDraw = 16.0
)

// Layout lays m out: each scope by longest-path layering, dummy nodes on
// long edges, barycentric ordering (the order with the fewest crossings
// of several sweeps) and barycentric x positions; Map and Parallel boxes
// hold their scopes side by side.
func Layout(m *Model) *Drawing {
	l := &layouter{m: m, kids: map[string][]int{}, types: map[string]string{}, scopes: map[int][]string{}}
	for i, g := range m.Groups {
		l.kids[g.Owner] = append(l.kids[g.Owner], i)
	}
	for _, n := range m.Nodes {
		l.types[n.Name] = n.Type
		l.scopes[n.Group] = append(l.scopes[n.Group], n.Name)
	}
	top := l.scope(-1, m.Start)
	d := &Drawing{Width: top.w + 2*marginDraw, Height: top.h + 2*marginDraw}
	top.place(d, marginDraw, marginDraw)
	placeLabels(d)
	return d
}

type layouter struct {
	m      *Model
	kids   map[string][]int // owner -> groups
	types  map[string]string
	scopes map[int][]string // group -> states
}

// scoped is a laid-out scope in its own coordinates.
type scoped struct {
	w, h  float64
	boxes []Box
	lines []Line
	// inner are the scopes inside compound boxes, with their offsets.
	inner []placedScope
}

type placedScope struct {
	s    *scoped
	x, y float64
}

func (s *scoped) place(d *Drawing, dx, dy float64) {
	for _, b := range s.boxes {
		b.X += dx
		b.Y += dy
		for i := range b.Frames {
			b.Frames[i].X += dx
			b.Frames[i].Y += dy
		}
		d.Nodes = append(d.Nodes, b)
	}
	for _, ln := range s.lines {
		pts := make([][2]float64, len(ln.Points))
		for i, p := range ln.Points {
			pts[i] = [2]float64{p[0] + dx, p[1] + dy}
		}
		ln.Points = pts
		d.Edges = append(d.Edges, ln)
	}
	for _, in := range s.inner {
		in.s.place(d, dx+in.x, dy+in.y)
	}
}

// vnode is a state or a dummy on a long edge.
type vnode struct {
	name     string // "" for a dummy
	w, h     float64
	layer    int
	x        float64 // centre
	pos      int     // index in its layer
	up, down []int
	inner    []*scoped // compound: its scopes
}

func (l *layouter) scope(g int, start string) *scoped {
	names := l.scopes[g]
	idx := map[string]int{}
	var vs []*vnode
	for _, n := range names {
		idx[n] = len(vs)
		v := &vnode{name: n, w: math.Max(minNodeW, float64(len(n))*charW+36), h: nodeH}
		if gs := l.kids[n]; len(gs) > 0 {
			var iw, ih float64
			for _, gi := range gs {
				s := l.scope(gi, l.m.Groups[gi].Start)
				v.inner = append(v.inner, s)
				iw += s.w + 2*framePad
				ih = math.Max(ih, s.h+2*framePad)
			}
			iw += frameGap * float64(len(gs)-1)
			v.w = math.Max(v.w, iw+2*framePad)
			v.h = nodeH + ih + framePad
		}
		vs = append(vs, v)
	}
	// Merge the model's edges per pair of states.
	type pair struct{ a, b int }
	var lines []Line
	at := map[pair]int{}
	for _, e := range l.m.Edges {
		a, ok1 := idx[e.From]
		b, ok2 := idx[e.To]
		if !ok1 || !ok2 {
			continue
		}
		if i, ok := at[pair{a, b}]; ok {
			if e.Label != "" && !strings.Contains(lines[i].Label, e.Label) {
				lines[i].Label = strings.TrimPrefix(lines[i].Label+", "+e.Label, ", ")
			}
			continue
		}
		at[pair{a, b}] = len(lines)
		lines = append(lines, Line{From: e.From, To: e.To, Kind: e.Kind, Label: e.Label})
	}
	n := len(vs)
	out := make([][]int, n)
	for _, ln := range lines {
		a, b := idx[ln.From], idx[ln.To]
		out[a] = append(out[a], b)
	}
	// Back edges: to a state on the depth-first stack.
	back := map[pair]bool{}
	color := make([]int, n)
	var dfs func(int)
	dfs = func(u int) {
		color[u] = 1
		for _, v := range out[u] {
			switch color[v] {
			case 0:
				dfs(v)
			case 1:
				back[pair{u, v}] = true
			}
		}
		color[u] = 2
	}
	if s, ok := idx[start]; ok {
		dfs(s)
	}
	for u := range n {
		if color[u] == 0 {
			dfs(u)
		}
	}
	// Longest-path layering over the edges pointing down.
	down := make([][]int, n)
	indeg := make([]int, n)
	for _, ln := range lines {
		a, b := idx[ln.From], idx[ln.To]
		if a == b {
			continue
		}
		if back[pair{a, b}] {
			a, b = b, a
		}
		down[a] = append(down[a], b)
		indeg[b]++
	}
	var queue []int
	for u := range n {
		if indeg[u] == 0 {
			queue = append(queue, u)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range down[u] {
			vs[v].layer = max(vs[v].layer, vs[u].layer+1)
			if indeg[v]--; indeg[v] == 0 {
				queue = append(queue, v)
			}
		}
	}
	// Chains with dummies for every edge spanning more than one layer.
	chains := make([][]int, len(lines))
	for i, ln := range lines {
		a, b := idx[ln.From], idx[ln.To]
		rev := back[pair{a, b}]
		if rev {
			a, b = b, a
		}
		chain := []int{a}
		for ly := vs[a].layer + 1; ly < vs[b].layer; ly++ {
			chain = append(chain, len(vs))
			vs = append(vs, &vnode{w: dummyW, layer: ly})
		}
		chain = append(chain, b)
		for j := 0; j+1 < len(chain); j++ {
			if chain[j] != chain[j+1] {
				vs[chain[j]].down = append(vs[chain[j]].down, chain[j+1])
				vs[chain[j+1]].up = append(vs[chain[j+1]].up, chain[j])
			}
		}
		if rev {
			for x, y := 0, len(chain)-1; x < y; x, y = x+1, y-1 {
				chain[x], chain[y] = chain[y], chain[x]
			}
		}
		chains[i] = chain
		lines[i].Back = rev
	}
	nl := 0
	for _, v := range vs {
		nl = max(nl, v.layer+1)
	}
	layers := make([][]int, nl)
	for i, v := range vs {
		layers[v.layer] = append(layers[v.layer], i)
	}
	order(vs, layers)
	// y of each layer
	ly := make([]float64, nl+1)
	for i, layer := range layers {
		h := 0.0
		for _, v := range layer {
			h = math.Max(h, vs[v].h)
		}
		if h == 0 {
			h = nodeH
		}
		ly[i+1] = ly[i] + h + vGap
	}
	position(vs, layers)
	minX, maxX := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		minX = math.Min(minX, v.x-v.w/2)
		maxX = math.Max(maxX, v.x+v.w/2)
	}
	s := &scoped{}
	// room on the right for a state that is its own Next
	backRoom := 0.0
	for _, ln := range lines {
		if ln.From == ln.To {
			backRoom = 30
		}
	}
	s.w = maxX - minX + backRoom
	s.h = math.Max(ly[nl]-vGap, 0)
	rect := map[int]Rect{}
	for i, v := range vs {
		if v.name == "" {
			continue
		}
		b := Box{Name: v.name, Type: l.types[v.name], X: v.x - v.w/2 - minX, Y: ly[v.layer], W: v.w, H: v.h}
		fx := b.X + framePad
		for _, in := range v.inner {
			f := Rect{X: fx, Y: b.Y + nodeH, W: in.w + 2*framePad, H: v.h - nodeH - framePad}
			b.Frames = append(b.Frames, f)
			s.inner = append(s.inner, placedScope{in, f.X + framePad, f.Y + framePad})
			fx += f.W + frameGap
		}
		rect[i] = Rect{b.X, b.Y, b.W, b.H}
		s.boxes = append(s.boxes, b)
	}
	// Ports: edges attach to a box's bottom (forward edges leaving, loops
	// arriving) and top (forward edges arriving, loops leaving), spread
	// out in the order of the chain's next vnode.
	type port struct {
		line, other int
		out         bool // the line's first point (else its last)
	}
	bottom, top := map[int][]port{}, map[int][]port{}
	for i, ln := range lines {
		c := chains[i]
		if ln.From == ln.To {
			continue
		}
		first, last := port{i, c[1], true}, port{i, c[len(c)-2], false}
		if ln.Back {
			top[c[0]] = append(top[c[0]], first)
			bottom[c[len(c)-1]] = append(bottom[c[len(c)-1]], last)
		} else {
			bottom[c[0]] = append(bottom[c[0]], first)
			top[c[len(c)-1]] = append(top[c[len(c)-1]], last)
		}
	}
	firstX, lastX := map[int]float64{}, map[int]float64{}
	spread := func(m map[int][]port) {
		for v, ps := range m {
			sort.SliceStable(ps, func(a, b int) bool { return vs[ps[a].other].x < vs[ps[b].other].x })
			r := rect[v]
			for k, p := range ps {
				x := r.X + r.W*float64(k+1)/float64(len(ps)+1)
				if p.out {
					firstX[p.line] = x
				} else {
					lastX[p.line] = x
				}
			}
		}
	}
	spread(bottom)
	spread(top)
	for i := range lines {
		ln := &lines[i]
		c := chains[i]
		a, b := rect[c[0]], rect[c[len(c)-1]]
		if ln.From == ln.To {
			// a state that is its own Next: a loop on its right side
			r := a.X + a.W + 24
			ln.Points = [][2]float64{{a.X + a.W, a.Y + nodeH/3}, {r, a.Y + nodeH/3}, {r, a.Y + 2*nodeH/3}, {a.X + a.W, a.Y + 2*nodeH/3}}
			continue
		}
		if ln.Back {
			// up: out of the top, through the dummies, into the bottom
			pts := [][2]float64{{firstX[i], a.Y}}
			for _, d := range c[1 : len(c)-1] {
				x := vs[d].x - minX
				pts = append(pts, [2]float64{x, ly[vs[d].layer+1] - vGap*3/4}, [2]float64{x, ly[vs[d].layer] - vGap/4})
			}
			ln.Points = append(pts, [2]float64{lastX[i], b.Y + b.H})
			continue
		}
		pts := [][2]float64{{firstX[i], a.Y + a.H}}
		for _, d := range c[1 : len(c)-1] {
			x := vs[d].x - minX
			pts = append(pts, [2]float64{x, ly[vs[d].layer] - vGap/4}, [2]float64{x, ly[vs[d].layer+1] - vGap*3/4})
		}
		ln.Points = append(pts, [2]float64{lastX[i], b.Y})
	}
	s.lines = lines
	return s
}

// order sorts each layer by the barycentre of its neighbours, sweeping
// down and up, and keeps the order with the fewest crossings.
func order(vs []*vnode, layers [][]int) {
	set := func() {
		for _, layer := range layers {
			for i, v := range layer {
				vs[v].pos = i
			}
		}
	}
	set()
	best := cloneLayers(layers)
	bestX := crossings(vs, layers)
	for it := 0; it < 12 && bestX > 0; it++ {
		if it%2 == 0 {
			for l := 1; l < len(layers); l++ {
				sortBy(vs, layers[l], func(v *vnode) []int { return v.up })
				set()
			}
		} else {
			for l := len(layers) - 2; l >= 0; l-- {
				sortBy(vs, layers[l], func(v *vnode) []int { return v.down })
				set()
			}
		}
		if x := crossings(vs, layers); x < bestX {
			bestX, best = x, cloneLayers(layers)
		}
	}
	copy(layers, best)
	set()
}

func cloneLayers(ls [][]int) [][]int {
	out := make([][]int, len(ls))
	for i, l := range ls {
		out[i] = append([]int(nil), l...)
	}
	return out
}

func sortBy(vs []*vnode, layer []int, nb func(*vnode) []int) {
	bary := map[int]float64{}
	for _, v := range layer {
		ns := nb(vs[v])
		if len(ns) == 0 {
			bary[v] = float64(vs[v].pos)
			continue
		}
		s := 0.0
		for _, u := range ns {
			s += float64(vs[u].pos)
		}
		bary[v] = s / float64(len(ns))
	}
	sort.SliceStable(layer, func(a, b int) bool { return bary[layer[a]] < bary[layer[b]] })
}

// crossings counts the crossing pairs of edges between adjacent layers.
func crossings(vs []*vnode, layers [][]int) int {
	n := 0
	for _, layer := range layers {
		type seg struct{ a, b int }
		var segs []seg
		for _, u := range layer {
			for _, v := range vs[u].down {
				segs = append(segs, seg{vs[u].pos, vs[v].pos})
			}
		}
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				if (segs[i].a-segs[j].a)*(segs[i].b-segs[j].b) < 0 {
					n++
				}
			}
		}
	}
	return n
}

// position gives each vnode its centre x: packed, then pulled towards the
// barycentre of its neighbours, alternately above and below, keeping the
// order and the gaps (the mean of the leftmost and the rightmost such
// placement, which keeps both).
func position(vs []*vnode, layers [][]int) {
	for _, layer := range layers {
		x := 0.0
		for _, v := range layer {
			vs[v].x = x + vs[v].w/2
			x += vs[v].w + hGap
		}
	}
	pull := func(layer []int, nb func(*vnode) []int) {
		k := len(layer)
		want := make([]float64, k)
		for i, v := range layer {
			ns := nb(vs[v])
			if len(ns) == 0 {
				want[i] = vs[v].x
				continue
			}
			s := 0.0
			for _, u := range ns {
				s += vs[u].x
			}
			want[i] = s / float64(len(ns))
		}
		sep := func(i int) float64 { return vs[layer[i-1]].w/2 + hGap + vs[layer[i]].w/2 }
		left := make([]float64, k)
		for i := range k {
			left[i] = want[i]
			if i > 0 {
				left[i] = math.Max(left[i], left[i-1]+sep(i))
			}
		}
		right := make([]float64, k)
		for i := k - 1; i >= 0; i-- {
			right[i] = want[i]
			if i < k-1 {
				right[i] = math.Min(right[i], right[i+1]-sep(i+1))
			}
		}
		for i, v := range layer {
			vs[v].x = (left[i] + right[i]) / 2
		}
	}
	for it := 0; it < 8; it++ {
		if it%2 == 0 {
			for l := 1; l < len(layers); l++ {
				pull(layers[l], func(v *vnode) []int { return v.up })
			}
		} else {
			for l := len(layers) - 2; l >= 0; l-- {
				pull(layers[l], func(v *vnode) []int { return v.down })
			}
		}
	}
	for l := 1; l < len(layers); l++ {
		pull(layers[l], func(v *vnode) []int { return v.up })
	}
}

// placeLabels puts each edge's count on its path where it overlaps no box
// and no other count: the middle, or further along either way.
func placeLabels(d *Drawing) {
	var taken []Rect
	for _, b := range d.Nodes {
		if len(b.Frames) == 0 {
			taken = append(taken, Rect{b.X, b.Y, b.W, b.H})
		} else {
			taken = append(taken, Rect{b.X, b.Y, b.W, nodeH})
		}
	}
	for i := range d.Edges {
		e := &d.Edges[i]
		best := pointAt(e.Points, 0.5)
		for _, f := range []float64{0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8} {
			p := pointAt(e.Points, f)
			r := Rect{p[0] - labelW/2, p[1] - labelH/2, labelW, labelH}
			free := true
			for _, t := range taken {
				if overlap(r, t) {
					free = false
					break
				}
			}
			if free {
				best = p
				break
			}
		}
		e.At = best
		taken = append(taken, Rect{best[0] - labelW/2, best[1] - labelH/2, labelW, labelH})
	}
}

// pointAt returns the point at fraction f of a polyline's length.
func pointAt(pts [][2]float64, f float64) [2]float64 {
	total := 0.0
	for i := 1; i < len(pts); i++ {
		total += math.Hypot(pts[i][0]-pts[i-1][0], pts[i][1]-pts[i-1][1])
	}
	want := total * f
	for i := 1; i < len(pts); i++ {
		seg := math.Hypot(pts[i][0]-pts[i-1][0], pts[i][1]-pts[i-1][1])
		if want <= seg && seg > 0 {
			t := want / seg
			return [2]float64{pts[i-1][0] + t*(pts[i][0]-pts[i-1][0]), pts[i-1][1] + t*(pts[i][1]-pts[i-1][1])}
		}
		want -= seg
	}
	return pts[len(pts)-1]
}

func overlap(a, b Rect) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}
