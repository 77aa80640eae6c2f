package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store"
)

// front is the daemon's HTTP server. serve starts it before the database is
// open, so that /healthz answers and /readyz says what the daemon waits for
// while the database is not there yet, and routes it to the API once the
// app is built.
type front struct {
	ln  net.Listener
	srv *http.Server
	// routes is the handler requests go to: the waiting one, then the API.
	routes atomic.Pointer[http.Handler]
	// served receives srv.Serve's result: nil after a shutdown.
	served chan error
}

// startFront listens on cfg.Listen and serves the waiting routes.
func startFront(cfg Config, logger *slog.Logger) (*front, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	ln = limitConns(ln, cfg.HTTPMaxConns, cfg.HTTPMaxConnsPerClient, logger)
	f := &front{ln: ln, served: make(chan error, 1)}
	f.route(waitingRoutes(logger.With("component", "http")))
	f.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			(*f.routes.Load()).ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: min(10*time.Second, cfg.HTTPReadTimeout),
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPReadTimeout + httpWriteTime,
		IdleTimeout:       httpIdleTimeout,
	}
	logger.Info("listening", "addr", f.addr())
	go func() {
		err := f.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		f.served <- err
	}()
	return f, nil
}

// addr is the bound address, with the port chosen when Listen asked for 0.
func (f *front) addr() string { return f.ln.Addr().String() }

// route sends the requests that come from now on to h.
func (f *front) route(h http.Handler) { f.routes.Store(&h) }

// close stops serving at once; after a graceful shutdown it does nothing.
func (f *front) close() { _ = f.srv.Close() }

// errWaiting is the answer while serve waits for the database.
var errWaiting = stripesync.Errorf(stripesync.EUNAVAILABLE, "waiting for the database")

// waitingRoutes answers /healthz (200) and /readyz (503, "waiting for the
// database") as the API does, and every other request 503 with the same
// reason: a webhook or trigger sent now is retried by its sender, and the
// status says why it failed where 404 would point at a wrong URL.
func waitingRoutes(logger *slog.Logger) http.Handler {
	probes := httpapi.NewServer(httpapi.Config{
		Logger: logger,
		Ready:  func(context.Context) error { return errWaiting },
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			probes.ServeHTTP(w, r)
			return
		}
		httpapi.WriteError(w, r, logger, errWaiting)
	})
}

// The backoff between attempts to reach the database at start doubles from
// dbRetryFirst up to dbRetryMax: a database a moment late is found at
// once, and one down for minutes is asked every few seconds, each attempt
// logging one warning.
const (
	dbRetryFirst = 250 * time.Millisecond
	dbRetryMax   = 5 * time.Second
)

// dbOpenFloor is the least time an attempt gets to connect, however little
// of STRIPESYNC_DB_WAIT is left (0 included): a server that answers slowly
// is not unavailable.
const dbOpenFloor = 5 * time.Second

// waitForStore opens and migrates the database as openStore does, trying
// again while it is unavailable (EUNAVAILABLE: not listening, starting up,
// busy) until cfg.DBWait has passed. Other failures (credentials refused,
// no such database, a migration that fails) end it at once, since waiting
// mends none of them. It returns ctx's error when ctx ends first.
func waitForStore(ctx context.Context, cfg Config, logger *slog.Logger) (*store.DB, error) {
	deadline := time.Now().Add(cfg.DBWait)
	delay := dbRetryFirst
	for attempt := 1; ; attempt++ {
		octx, cancel := context.WithTimeout(ctx, max(time.Until(deadline), dbOpenFloor))
		db, err := store.Open(octx, cfg.DatabaseURL, logger.With("component", "store"))
		cancel()
		if err == nil {
			// Migrations run under ctx alone: the wait is for the
			// database to answer, not a limit on migrating it.
			db, err = migrated(ctx, db)
		}
		switch {
		case err == nil:
			if attempt > 1 {
				logger.Info("database available", "attempts", attempt)
			}
			return db, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case stripesync.CodeOf(err) != stripesync.EUNAVAILABLE:
			return nil, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			if cfg.DBWait == 0 {
				return nil, err
			}
			return nil, fmt.Errorf("the database is still unavailable after %s (STRIPESYNC_DB_WAIT): %w", cfg.DBWait, err)
		}
		wait := min(delay, left)
		logger.Warn("database unavailable; trying again", "attempt", attempt, "retry_in_ms", wait.Milliseconds(), "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		delay = min(2*delay, dbRetryMax)
	}
}
