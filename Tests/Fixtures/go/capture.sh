#!/bin/bash
# Re-creates the Go fixtures in this folder from src/main.go with Debian's golang-go (1.19):
#   debug1.txt, debug2.txt, sigquit-all.txt   one run, goroutines blocked for over a minute ("N minutes")
#   sigquit-default.txt, sigquit-crash.txt    GOTRACEBACK unset / =crash, async preemption off, so that the
#                                             spinning goroutine is "running on other thread"
#   sigquit-system.txt                        GOTRACEBACK=system
#   panic-all.txt                             a panic in main, GOTRACEBACK=all
#   service.log                               a service log: every line prefixed by a logger, other messages
#                                             between goroutines and around a debug=1 and a SIGQUIT dump
# Takes about 80 s (the wait times must pass one minute).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOCACHE=$work/gocache GOPATH=$work/gopath GO111MODULE=off
(cd "$here/src" && go build -o "$work/blockers" main.go)
ulimit -c 0

# start NAME [ENV…]: runs the program with its stderr in $work/NAME.stderr; sets $pid and $address.
start() {
    local name=$1; shift
    env "$@" "$work/blockers" "${settle[@]}" > "$work/$name.stdout" 2> "$work/$name.stderr" &
    pid=$!
    for _ in $(seq 1 400); do grep -q '^ready' "$work/$name.stdout" 2>/dev/null && break; sleep 0.25; done
    address=$(head -1 "$work/$name.stdout")
}
quit() { kill -QUIT "$pid"; wait "$pid" || true; }

settle=(-settle 65s)
start all GOTRACEBACK=all
curl -sf "http://$address/debug/pprof/goroutine?debug=1" > "$here/debug1.txt"
curl -sf "http://$address/debug/pprof/goroutine?debug=2" > "$here/debug2.txt"
quit
cp "$work/all.stderr" "$here/sigquit-all.txt"

settle=()
start default GODEBUG=asyncpreemptoff=1
quit
cp "$work/default.stderr" "$here/sigquit-default.txt"
start crash GOTRACEBACK=crash GODEBUG=asyncpreemptoff=1
quit
cp "$work/crash.stderr" "$here/sigquit-crash.txt"
start system GOTRACEBACK=system
quit
cp "$work/system.stderr" "$here/sigquit-system.txt"
settle=(-panic)
start panic GOTRACEBACK=all
wait "$pid" || true
cp "$work/panic.stderr" "$here/panic-all.txt"
settle=()

# The service log: a logger prefixes each line of the program's output with a timestamp and its tag; the
# service's own messages land between goroutine blocks (at the blank lines) and between the dumps.
prefix() { awk -v tag="$1" '{ "date +%Y-%m-%dT%H:%M:%S.%6N" | getline now; close("date +%Y-%m-%dT%H:%M:%S.%6N");
                               print now " " tag " " $0
                               if ($0 == "" && NR % 3 == 0) print now " INFO  [http] GET /health 200 (" NR " µs)" }'; }
start log
{
    echo "$(date +%Y-%m-%dT%H:%M:%S.%6N) INFO  [main] service started, pid $pid"
    curl -sf "http://$address/debug/pprof/goroutine?debug=1" | prefix "DEBUG [pprof]"
    echo "$(date +%Y-%m-%dT%H:%M:%S.%6N) WARN  [main] received SIGQUIT, dumping goroutines"
    quit
    prefix "ERROR [stderr]" < "$work/log.stderr"
    echo "$(date +%Y-%m-%dT%H:%M:%S.%6N) INFO  [main] exit status 2"
} > "$here/service.log"
