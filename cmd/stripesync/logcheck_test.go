package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// checkJSONLog fails t for each line of a JSON log that a log pipeline
// would choke on: not one JSON object, or a key twice in one object (slog
// writes both when a logger's With and a call name the same key, and most
// parsers keep only one). It returns the decoded lines.
func checkJSONLog(t testing.TB, log string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for n, line := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		if line == "" {
			continue
		}
		if err := noDuplicateKeys(json.NewDecoder(strings.NewReader(line))); err != nil {
			t.Errorf("log line %d: %v\n%s", n+1, err, line)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line %d is not a JSON object: %v\n%s", n+1, err, line)
			continue
		}
		lines = append(lines, m)
	}
	return lines
}

// noDuplicateKeys reads one JSON value from dec and reports a key that
// appears twice in one object, at any depth.
func noDuplicateKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return err
			}
			k := key.(string)
			if seen[k] {
				return fmt.Errorf("key %q appears twice", k)
			}
			seen[k] = true
			if err := noDuplicateKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for dec.More() {
			if err := noDuplicateKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// TestStartupLogIsStrictJSON: the configuration line of serve decodes
// strictly and gives its durations as text ("30s"), not as nanoseconds.
func TestStartupLogIsStrictJSON(t *testing.T) {
	var out bytes.Buffer
	cfg := Config{LogFormat: "json", LogLevel: "info", HTTPReadTimeout: 30 * time.Second, LinkTTL: 720 * time.Hour}
	logger := newLogger(cfg, &out)
	logger.Info("starting", "config", cfg, "took", 1500*time.Millisecond)
	lines := checkJSONLog(t, out.String())
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), out.String())
	}
	config, _ := lines[0]["config"].(map[string]any)
	if got := config["http_read_timeout"]; got != "30s" {
		t.Errorf("http_read_timeout logged as %#v, want \"30s\"", got)
	}
	if got := config["link_ttl"]; got != "720h0m0s" {
		t.Errorf("link_ttl logged as %#v, want \"720h0m0s\"", got)
	}
	if got := lines[0]["took"]; got != "1.5s" {
		t.Errorf("a duration passed to a log call logged as %#v, want \"1.5s\"", got)
	}
}

func TestCheckJSONLogFindsDuplicateKeys(t *testing.T) {
	for _, line := range []string{`{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`, `{"a":[{"c":1,"c":2}]}`} {
		if err := noDuplicateKeys(json.NewDecoder(strings.NewReader(line))); err == nil {
			t.Errorf("%s: no duplicate found", line)
		}
	}
	if err := noDuplicateKeys(json.NewDecoder(strings.NewReader(`{"a":1,"b":{"a":2}}`))); err != nil {
		t.Errorf("a key repeated at another depth: %v", err)
	}
}
