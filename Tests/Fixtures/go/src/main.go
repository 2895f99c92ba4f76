// A small Go program whose goroutines block in known, distinct ways, so that its tracebacks (SIGQUIT) and
// goroutine profiles (/debug/pprof/goroutine?debug=1 and ?debug=2) make fixtures for swift-pmp's Go readers.
//
// Build (Debian golang-go 1.19):  GOCACHE=/tmp/gocache GOPATH=/tmp/gopath go build -o /tmp/pmp-go-blockers main.go
// Run:  /tmp/pmp-go-blockers [-settle 70s]
// It prints the pprof HTTP address on stdout, then "ready" once every goroutine is blocked (and, with -settle,
// once the waits are old enough for the runtime to print "N minutes"); with -panic it then panics.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var (
	neverClosed = make(chan int)
	neverReady  = make(chan string)
	heldMutex   sync.Mutex
	condMutex   sync.Mutex
	neverSignal = sync.NewCond(&condMutex)
	neverDone   sync.WaitGroup
	spinCounter uint64
)

// Five goroutines in the same place: the counted profile (debug=1) folds them into one block of 5.
func receiveForever(id int) {
	fmt.Sprint(id)
	<-neverClosed
}

func lockForever() {
	heldMutex.Lock()
	defer heldMutex.Unlock()
}

func sleepForever() {
	time.Sleep(24 * time.Hour)
}

func selectForever() {
	select {
	case <-neverClosed:
	case <-neverReady:
	}
}

func waitForCondition() {
	condMutex.Lock()
	neverSignal.Wait()
	condMutex.Unlock()
}

func waitForGroup() {
	neverDone.Wait()
}

// Small enough to be inlined into its caller: the traceback marks it with "(...)".
func receiveOne(ch chan int) int {
	return <-ch
}

func inlinedReceive() {
	fmt.Println(receiveOne(neverClosed))
}

// Deep enough for the runtime to elide the middle frames ("...additional frames elided...").
func recurse(depth int) int {
	if depth == 0 {
		return <-neverClosed
	}
	return recurse(depth-1) + 1
}

func lockedToThread() {
	runtime.LockOSThread()
	<-neverClosed
}

type worker struct{ inbox chan int }

func (w *worker) run() {
	for range w.inbox {
	}
}

func waitFor[T any](ch chan T) T {
	return <-ch
}

func labelledWait() {
	pprof.Do(context.Background(), pprof.Labels("job", "nightly"), func(context.Context) {
		<-neverClosed
	})
}

func readFromPeer(address string) {
	conn, err := net.Dial("tcp", address)
	if err != nil {
		panic(err)
	}
	buffer := make([]byte, 16)
	conn.Read(buffer)
}

//go:noinline
func spin() {
	for {
		spinCounter++
	}
}

func main() {
	settle := flag.Duration("settle", 0, "how long to wait after the goroutines block before printing ready")
	panicWhenReady := flag.Bool("panic", false, "panic once ready (for a fixture of panic output)")
	flag.Parse()

	httpListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(httpListener.Addr().String())
	go http.Serve(httpListener, nil)

	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			conn, err := peer.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // kept open, never written: the reader waits for ever
		}
	}()

	heldMutex.Lock()
	neverDone.Add(1)
	for id := 0; id < 5; id++ {
		go receiveForever(id)
	}
	for i := 0; i < 3; i++ {
		go lockForever()
	}
	go sleepForever()
	go sleepForever()
	go selectForever()
	go waitForCondition()
	go waitForGroup()
	go inlinedReceive()
	go recurse(150)
	go lockedToThread()
	go (&worker{inbox: make(chan int)}).run()
	go waitFor(make(chan []byte))
	go labelledWait()
	go readFromPeer(peer.Addr().String())
	go spin()
	go func() {
		<-neverReady
	}()

	time.Sleep(500 * time.Millisecond)
	if *settle > 0 {
		// Wait times are stamped by the garbage collector, with the time the previous collection ended:
		// collect twice so that they start now.
		runtime.GC()
		runtime.GC()
		time.Sleep(*settle)
	}
	fmt.Println("ready")
	if *panicWhenReady {
		fail("the fixture asked for a panic")
	}
	select {}
}

//go:noinline
func fail(reason string) {
	panic(fmt.Errorf("%s", reason))
}
