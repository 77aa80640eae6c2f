package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePprof serves Go's profiles on addr until ctx ends: CPU
// (/debug/pprof/profile?seconds=N), heap, goroutines, mutex and block. It
// is a listener of its own, so the API's routes, timeouts and logs are
// untouched and a profile never competes with a webhook for a route.
//
// Importing net/http/pprof also registers these handlers on
// http.DefaultServeMux; the daemon never serves that mux, and must not, or
// the profiles would be on the API's address too.
func servePprof(ctx context.Context, addr string, listening func(string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s for profiles: %w", addr, err)
	}
	if listening != nil {
		listening(ln.Addr().String())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace answers after the seconds
	// it was asked for.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: httpIdleTimeout}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
