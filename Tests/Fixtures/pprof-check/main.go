// pprof-check parses pprof files with Google's pprof library (github.com/google/pprof/profile, the parser that
// Parca's scraper and Grafana Alloy use), checks them with CheckValid, and prints one JSON summary per file.
// Built offline against Debian's golang-github-google-pprof-dev: GO111MODULE=off GOPATH=/usr/share/gocode.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/google/pprof/profile"
)

type summary struct {
	File        string              `json:"file"`
	OK          bool                `json:"ok"`
	Error       string              `json:"error,omitempty"`
	SampleTypes []string            `json:"sample_types"`
	PeriodType  string              `json:"period_type"`
	Period      int64               `json:"period"`
	DefaultType string              `json:"default_sample_type"`
	TimeNanos   int64               `json:"time_nanos"`
	Duration    int64               `json:"duration_nanos"`
	Samples     int                 `json:"samples"`
	Locations   int                 `json:"locations"`
	Functions   int                 `json:"functions"`
	Mappings    int                 `json:"mappings"`
	Totals      []int64             `json:"totals"`
	LabelKeys   []string            `json:"label_keys"`
	LabelValues map[string][]string `json:"label_values"`
	Comments    []string            `json:"comments"`
}

func check(path string) summary {
	s := summary{File: path, LabelValues: map[string][]string{}}
	file, err := os.Open(path)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer file.Close()
	p, err := profile.Parse(file)
	if err != nil {
		s.Error = "parse: " + err.Error()
		return s
	}
	if err := p.CheckValid(); err != nil {
		s.Error = "invalid: " + err.Error()
		return s
	}
	for _, t := range p.SampleType {
		s.SampleTypes = append(s.SampleTypes, t.Type+"/"+t.Unit)
	}
	if p.PeriodType != nil {
		s.PeriodType = p.PeriodType.Type + "/" + p.PeriodType.Unit
	}
	s.Period, s.DefaultType, s.TimeNanos, s.Duration = p.Period, p.DefaultSampleType, p.TimeNanos, p.DurationNanos
	s.Samples, s.Locations, s.Functions, s.Mappings = len(p.Sample), len(p.Location), len(p.Function), len(p.Mapping)
	s.Totals = make([]int64, len(p.SampleType))
	keys := map[string]bool{}
	values := map[string]map[string]bool{}
	for _, sample := range p.Sample {
		for i, v := range sample.Value {
			s.Totals[i] += v
		}
		for key, vs := range sample.Label {
			keys[key] = true
			if values[key] == nil {
				values[key] = map[string]bool{}
			}
			for _, v := range vs {
				values[key][v] = true
			}
		}
		for key := range sample.NumLabel {
			keys["#"+key] = true
		}
	}
	for key := range keys {
		s.LabelKeys = append(s.LabelKeys, key)
	}
	sort.Strings(s.LabelKeys)
	for key, set := range values {
		for v := range set {
			s.LabelValues[key] = append(s.LabelValues[key], v)
		}
		sort.Strings(s.LabelValues[key])
	}
	s.Comments = p.Comments
	s.OK = true
	return s
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pprof-check FILE...")
		os.Exit(2)
	}
	encoder := json.NewEncoder(os.Stdout)
	failed := false
	for _, path := range os.Args[1:] {
		s := check(path)
		failed = failed || !s.OK
		encoder.Encode(s)
	}
	if failed {
		os.Exit(1)
	}
}
