// Goroutines of one function, main.worker, blocked at different lines and in different states, then a
// goroutine dump of them all as /debug/pprof/goroutine?debug=2 serves it (runtime.Stack of every goroutine),
// printed on stdout. Folded by function, the kinds 1, 2 and 3 have the same stack; kind 0 has another.
//
//	go run main.go HELPER CHAN1 CHAN2 NIL [MUTEX]    goroutines of each kind
package main

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

var (
	never   = make(chan int)
	nilChan chan int
	held    sync.Mutex
	started sync.WaitGroup
)

//go:noinline
func helper(ch chan int) int { return <-ch }

func worker(kind int) {
	started.Done()
	switch kind {
	case 0:
		helper(never) // line 30: another stack (main.helper above main.worker)
	case 1:
		<-never // line 32: chan receive
	case 2:
		<-never // line 34: chan receive
	case 3:
		<-nilChan // line 36: chan receive (nil chan)
	case 4:
		held.Lock() // line 38: sync.Mutex
	}
}

func main() {
	held.Lock()
	for kind, arg := range os.Args[1:] {
		count, _ := strconv.Atoi(arg)
		for i := 0; i < count; i++ {
			started.Add(1)
			go worker(kind)
		}
	}
	started.Wait()
	// Let every goroutine reach its wait.
	time.Sleep(200 * time.Millisecond)
	buf := make([]byte, 64<<20)
	os.Stdout.Write(buf[:runtime.Stack(buf, true)])
}
