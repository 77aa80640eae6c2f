// Command webhookceiling is the ceiling BenchmarkWebhookAcceptance compares the
// daemon with: a webhook endpoint that does only what acceptance cannot do
// without — verify Stripe's signature and parse the event (with the
// daemon's own stripeclient.VerifyWebhook), insert it durably with a group
// commit, answer 200 — and nothing else (no worker, no
// metrics, no middleware). It reads the daemon's settings
// (STRIPESYNC_LISTEN, STRIPE_WEBHOOK_SECRET, STRIPESYNC_DATABASE_URL), is
// started as "webhookceiling serve" and stops on SIGTERM, so the benchmark runs
// it as it runs a baseline binary.
package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient"
)

type insert struct {
	ev   stripesync.Event
	done chan error
}

func main() {
	if len(os.Args) != 2 || os.Args[1] != "serve" {
		log.Fatal("usage: webhookceiling serve")
	}
	secret := os.Getenv("STRIPE_WEBHOOK_SECRET")
	db, postgres, err := open(os.Getenv("STRIPESYNC_DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	blob := "BLOB"
	if postgres {
		blob = "BYTEA"
	}
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT NOT NULL, object_id TEXT NOT NULL, payload " + blob + " NOT NULL)"); err != nil {
		log.Fatal(err)
	}
	inserts := make(chan insert, 1024)
	go groupCommit(db, postgres, inserts)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /stripe/webhook", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		ev, err := stripeclient.VerifyWebhook(body, r.Header.Get("Stripe-Signature"), []string{secret}, 0, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		done := make(chan error, 1)
		inserts <- insert{ev, done}
		if err := <-done; err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := &http.Server{Addr: os.Getenv("STRIPESYNC_LISTEN"), Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// open opens the database as the daemon does: SQLite in WAL with FULL
// synchronous commits on one connection, Postgres with binary parameters.
// It reports whether the database is Postgres.
func open(url string) (*sql.DB, bool, error) {
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		db, err := sql.Open("sqlite", path+"?_busy_timeout=10000&_journal_mode=WAL&_txlock=immediate&_pragma=synchronous(FULL)")
		if err != nil {
			return nil, false, err
		}
		db.SetMaxOpenConns(1)
		return db, false, nil
	}
	cfg, err := pq.NewConfig(url)
	if err != nil {
		return nil, false, err
	}
	cfg.BinaryParameters = true
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, false, err
	}
	return sql.OpenDB(connector), true, nil
}

// groupCommit inserts whatever has arrived since the last commit in one
// statement (SQLite: one transaction), then answers each request.
func groupCommit(db *sql.DB, postgres bool, in <-chan insert) {
	for first := range in {
		batch := []insert{first}
	more:
		for len(batch) < 256 {
			select {
			case i := <-in:
				batch = append(batch, i)
			default:
				break more
			}
		}
		var err error
		if postgres {
			err = insertPostgres(db, batch)
		} else {
			err = insertSQLite(db, batch)
		}
		for _, i := range batch {
			i.done <- err
		}
	}
}

// insertPostgres inserts batch in one round trip: one statement over
// arrays, committed on its own.
func insertPostgres(db *sql.DB, batch []insert) error {
	ids, types, objects := make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
	bodies := make([][]byte, len(batch))
	for n, i := range batch {
		ids[n], types[n], objects[n], bodies[n] = i.ev.ID, i.ev.Type, i.ev.ObjectID, i.ev.Payload
	}
	_, err := db.Exec("INSERT INTO events (id, type, object_id, payload) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) ON CONFLICT (id) DO NOTHING",
		pq.Array(ids), pq.Array(types), pq.Array(objects), pq.Array(bodies))
	return err
}

// insertSQLite inserts batch in one transaction on the one connection.
func insertSQLite(db *sql.DB, batch []insert) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, i := range batch {
		if _, err := tx.Exec("INSERT INTO events (id, type, object_id, payload) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", i.ev.ID, i.ev.Type, i.ev.ObjectID, i.ev.Payload); err != nil {
			return err
		}
	}
	return tx.Commit()
}
