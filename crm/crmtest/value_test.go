package crmtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCanonicalDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"100.50", "100.5", true},
		{"+007", "7", true},
		{"-0.000", "0", true},
		{".5", "0.5", true},
		{"12.", "12", true},
		{"-12.340", "-12.34", true},
		{"1e3", "", false},
		{"1,000", "", false},
		{"", "", false},
		{".", "", false},
		{"--1", "", false},
	}
	for _, tt := range tests {
		got, ok := canonicalDecimal(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonicalDecimal(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCmpDecimal(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1", "1", 0},
		{"1.5", "1.25", 1},
		{"10", "9.99", 1},
		{"-10", "-9.99", -1},
		{"-1", "0", -1},
		{"0.1", "0.10", 0},
		{"123456789012345678901.5", "123456789012345678901.49", 1},
	}
	for _, tt := range tests {
		a, _ := canonicalDecimal(tt.a)
		b, _ := canonicalDecimal(tt.b)
		if got := cmpDecimal(a, b); got != tt.want {
			t.Errorf("cmpDecimal(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestIDSuffix(t *testing.T) {
	// Real ids from the reference's sample responses.
	for _, id := range []string{"001RO000003oLrHYAU", "003RO0000035WQgYAM", "00DD0000000muCUMAY"} {
		if got := idSuffix(id[:15]); got != id[15:] {
			t.Errorf("idSuffix(%s) = %s, want %s", id[:15], got, id[15:])
		}
	}
	a, b := newID("001", 61), newID("001", 62)
	if len(a) != 18 || a[:3] != "001" || a >= b {
		t.Errorf("newID: %s then %s, want 18-char 001 ids in increasing order", a, b)
	}
}

func TestParseDateTime(t *testing.T) {
	want := time.Date(2024, 5, 1, 12, 34, 56, 0, time.UTC)
	for _, in := range []string{"2024-05-01T12:34:56Z", "2024-05-01T12:34:56.000Z", "2024-05-01T12:34:56.000+0000", "2024-05-01T14:34:56+02:00"} {
		got, ok := parseDateTime(in)
		if !ok || !got.Equal(want) {
			t.Errorf("parseDateTime(%q) = %v, %v, want %v", in, got, ok, want)
		}
	}
	if _, ok := parseDateTime("2024-05-01"); ok {
		t.Error("parseDateTime accepted a date")
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `quote " and \ backslash`, "line\nbreak\ttab\r\x01\x1f", "é ü 日本 \u2028", "bad \xff utf8", "<b>&amp;</b>"} {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Errorf("appendJSONString(%q) is not JSON: %v", s, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if got != want {
			t.Errorf("appendJSONString(%q) decodes to %q, want %q", s, got, want)
		}
	}
}
