package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestPprofServesACPUProfile: the profile listener answers a CPU profile
// (gzip-compressed protobuf) and stops with its context.
func TestPprofServesACPUProfile(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- servePprof(ctx, "127.0.0.1:0", func(a string) { addrs <- a }) }()
	addr := <-addrs
	resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=1")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		t.Fatalf("GET profile: %s, %d bytes starting %q; want 200 and a gzip stream", resp.Status, len(body), body[:min(len(body), 8)])
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("servePprof returned %v after its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("servePprof did not stop when its context ended")
	}
}
