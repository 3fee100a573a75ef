// SPDX-License-Identifier: MIT

// shapes.go - the defer shapes of shapes.c in Go, the anchor that
// libdefer's costs are compared with.  The same command line:
//
//	shapes-go ir SHAPE N    run N operations of SHAPE, then exit
//	shapes-go size          heap bytes per pending defer
//	shapes-go time N        per shape: median ns per operation, and the
//	                        median of the per-round ratios to its direct twin
//
// Go under callgrind needs GODEBUG=asyncpreemptoff=1 (instructions.py sets
// it): the preemption signals would otherwise land at random points.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

var sink *int
var isink int
var dsink float64
var target int

//go:noinline
func use(p *int) { sink = p }

//go:noinline
func use6(p *int, a int, x float64, b int, y float64, z float64) {
	sink = p
	isink = a + b
	dsink = x + y + z
}

//go:noinline
func logv(p *int, format string, args ...interface{}) {
	sink = p
	if format[0] == '%' {
		isink = args[0].(int)
	}
}

//go:noinline
func one(p *int, i int) { defer use(p) }

//go:noinline
func oneDirect(p *int, i int) { use(p) }

//go:noinline
func eight(p *int, i int) {
	defer use(p)
	defer use(p)
	defer use(p)
	defer use(p)
	defer use(p)
	defer use(p)
	defer use(p)
	defer use(p)
}

//go:noinline
func eightDirect(p *int, i int) {
	use(p)
	use(p)
	use(p)
	use(p)
	use(p)
	use(p)
	use(p)
	use(p)
}

//go:noinline
func loop100(p *int, i int) {
	for k := 0; k < 100; k++ {
		defer use(p)
	}
}

//go:noinline
func loop100Direct(p *int, i int) {
	for k := 0; k < 100; k++ {
		use(p)
	}
}

//go:noinline
func six(p *int, i int) {
	a, b := i, i+1
	x := float64(i)
	y, z := x+1, x+2
	defer use6(p, a, x, b, y, z)
}

//go:noinline
func sixDirect(p *int, i int) {
	a, b := i, i+1
	x := float64(i)
	y, z := x+1, x+2
	use6(p, a, x, b, y, z)
}

//go:noinline
func variadic(p *int, i int) { defer logv(p, "%d", i) }

//go:noinline
func variadicDirect(p *int, i int) { logv(p, "%d", i) }

//go:noinline
func thrower(depth int) {
	if depth > 1 {
		thrower(depth - 1)
	} else {
		panic("x")
	}
}

//go:noinline
func recoverOne(p *int, i int) {
	defer func() { recover() }()
	thrower(1)
}

//go:noinline
func recoverTen(p *int, i int) {
	defer func() { recover() }()
	thrower(10)
}

type shape struct {
	name string
	f    func(*int, int)
}

// The names are shapes.c's: a Go recovery has one mechanism, so both
// recover rows of the C table compare with it.
var shapes = []shape{
	{"one", one},
	{"one.direct", oneDirect},
	{"eight", eight},
	{"eight.direct", eightDirect},
	{"loop100", loop100},
	{"loop100.direct", loop100Direct},
	{"six", six},
	{"six.direct", sixDirect},
	{"variadic", variadic},
	{"variadic.direct", variadicDirect},
	{"recover_point", recoverOne},
	{"recover_unwind", recoverOne},
	{"recover_unwind10", recoverTen},
}

//go:noinline
func run(f func(*int, int), n int) {
	for i := 0; i < n; i++ {
		f(&target, i)
	}
}

func find(name string) *shape {
	for i := range shapes {
		if shapes[i].name == name {
			return &shapes[i]
		}
	}
	return nil
}

func median(t []float64) float64 {
	sort.Float64s(t)
	return t[len(t)/2]
}

func timeshape(s, twin *shape, n int) {
	const rounds = 21
	t := make([]float64, rounds)
	r := make([]float64, rounds)
	for k := 0; k < rounds; k++ {
		t0 := time.Now()
		run(s.f, n)
		t1 := time.Now()
		if twin != nil {
			run(twin.f, n)
		}
		t2 := time.Now()
		t[k] = float64(t1.Sub(t0).Nanoseconds()) / float64(n)
		if twin != nil {
			r[k] = float64(t1.Sub(t0)) / float64(t2.Sub(t1))
		}
	}
	fmt.Printf("%s %.2f %.3f\n", s.name, median(t), median(r))
}

// The heap bytes one pending defer holds: a frame with 1,000,000 of them
// reads the live heap before it returns (the runtime's _defer is not
// reachable from a program).
//
//go:noinline
func pending(n int) float64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	for k := 0; k < n; k++ {
		defer use(&target)
	}
	runtime.ReadMemStats(&b)
	return float64(b.HeapAlloc-a.HeapAlloc) / float64(n)
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "ir" {
		s := find(os.Args[2])
		n, err := strconv.Atoi(os.Args[3])
		if s == nil || err != nil {
			fmt.Fprintf(os.Stderr, "shapes-go: no shape %s\n", os.Args[2])
			os.Exit(2)
		}
		run(s.f, n)
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "size" {
		fmt.Printf("%.0f\n", pending(1000000))
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "time" {
		n, _ := strconv.Atoi(os.Args[2])
		for i := range shapes {
			name := shapes[i].name
			if strings.HasSuffix(name, ".direct") {
				continue
			}
			k := n
			// About the same time per shape: a recovery or a hundred
			// defers cost a hundred simple ones.
			if strings.HasPrefix(name, "recover") || name == "loop100" {
				k = n / 100
			}
			timeshape(&shapes[i], find(name+".direct"), k)
		}
		return
	}
	fmt.Fprintln(os.Stderr, "usage: shapes-go ir SHAPE N | shapes-go time N")
	os.Exit(2)
}
