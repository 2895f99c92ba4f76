// Reads a process-table response with Go types of the shape VividCortex pm declares
// (github.com/VividCortex/pm, types.go), refusing unknown fields, and writes it back with encoding/json.
// Usage: go run decode.go procs|history FILE
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

type attribute struct {
	Name  string      `json:"name"`
	Value interface{} `json:"value"`
}

type proc struct {
	ID         string      `json:"id"`
	Attrs      []attribute `json:"attrs,omitempty"`
	ProcTime   time.Time   `json:"procTime"`
	StatusTime time.Time   `json:"statusTime"`
	Status     string      `json:"status"`
	Cancelling bool        `json:"cancelling,omitempty"`
}

type procList struct {
	Procs      []proc    `json:"procs"`
	ServerTime time.Time `json:"serverTime"`
}

type change struct {
	Ts     time.Time `json:"ts"`
	Status string    `json:"status"`
}

type history struct {
	History    []change  `json:"history"`
	ServerTime time.Time `json:"serverTime"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: decode procs|history FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var target interface{}
	switch os.Args[1] {
	case "procs":
		target = &procList{}
	case "history":
		target = &history{}
	default:
		fmt.Fprintln(os.Stderr, "unknown kind", os.Args[1])
		os.Exit(2)
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(target); err != nil {
		fmt.Fprintln(os.Stderr, "decode:", err)
		os.Exit(1)
	}
	encoded, err := json.Marshal(target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(1)
	}
	os.Stdout.Write(encoded)
}
