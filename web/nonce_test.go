package web

import (
	"strings"
	"testing"
	"time"
)

func TestNonces(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	n := nonces{key: []byte(strings.Repeat("k", 32)), now: func() time.Time { return now }}
	a := n.issue("a0INV1", "visitor1")
	if a == n.issue("a0INV1", "visitor1") {
		t.Fatal("two nonces are equal")
	}
	if !n.check(a, "a0INV1", "visitor1") {
		t.Fatal("fresh nonce refused")
	}
	for name, ok := range map[string]bool{
		"other invoice": n.check(a, "a0INV2", "visitor1"),
		"other visitor": n.check(a, "a0INV1", "visitor2"),
		"truncated":     n.check(a[:len(a)-1], "a0INV1", "visitor1"),
		"altered":       n.check(flip(a), "a0INV1", "visitor1"),
		"empty":         n.check("", "a0INV1", "visitor1"),
		"other key":     nonces{key: []byte(strings.Repeat("x", 32)), now: n.now}.check(a, "a0INV1", "visitor1"),
	} {
		if ok {
			t.Errorf("%s: nonce accepted", name)
		}
	}
	now = now.Add(nonceLifetime)
	if n.check(a, "a0INV1", "visitor1") {
		t.Error("stale nonce accepted")
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}

func TestRedactPath(t *testing.T) {
	if got := redactPath("/pay/SECRETTOKEN/return"); got != "/pay/…/return" || strings.Contains(got, "SECRET") {
		t.Errorf("redactPath = %q", got)
	}
}
