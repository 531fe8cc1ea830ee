package intrinsic

import (
	"math"
)

// javaRandom is java.util.Random: seeded States.MathRandom must give the same
// number every time, and AWS runs on the JVM, so its generator is the
// likeliest to agree with AWS's.
type javaRandom struct{ seed int64 }

const (
	javaMultiplier = 0x5DEECE66D
	javaMask       = (1 << 48) - 1
)

func newJavaRandom(seed int64) javaRandom {
	return javaRandom{seed: (seed ^ javaMultiplier) & javaMask}
}

func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*javaMultiplier + 0xB) & javaMask
	return int32(uint64(r.seed) >> (48 - bits))
}

// nextInt is Random.nextInt(bound) for bound > 0.
func (r *javaRandom) nextInt(bound int32) int32 {
	x := r.next(31)
	m := bound - 1
	if bound&m == 0 {
		return int32((int64(bound) * int64(x)) >> 31)
	}
	for u := x; ; u = r.next(31) {
		x = u % bound
		if u-x+m >= 0 { // int32 arithmetic: overflow means reject
			return x
		}
	}
}

// nextLong is Random.nextLong().
func (r *javaRandom) nextLong() int64 {
	return int64(r.next(32))<<32 + int64(r.next(32))
}

// randomBelow returns a number in [0, n) from the seeded generator.
func (r *javaRandom) randomBelow(n int64) int64 {
	if n <= math.MaxInt32 {
		return int64(r.nextInt(int32(n)))
	}
	v := r.nextLong() % n
	if v < 0 {
		v += n
	}
	return v
}
