package store

import (
	"context"
	"embed"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds one directory of goose SQL files per dialect.
//
//go:embed migrations
var migrations embed.FS

// Migrate applies every migration not applied yet; on an up-to-date database
// it does nothing. On Postgres, replicas starting together take turns under
// a session advisory lock (scoped to the schema), so each migration runs
// once.
func (db *DB) Migrate(ctx context.Context) error {
	dir, err := fs.Sub(migrations, "migrations/"+db.dialect)
	if err != nil {
		return wrap(err, "migrate")
	}
	opts := []goose.ProviderOption{goose.WithSlog(db.logger), goose.WithDisableGlobalRegistry(true)}
	if db.dialect == DialectPostgres {
		// Poll every second, for up to five minutes, for a replica that
		// is migrating to finish.
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(db.advisoryKey("stripesync:migrate")),
			lock.WithLockTimeout(1, 300),
		)
		if err != nil {
			return wrap(err, "migrate")
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(db.gooseDialect(), db.x.DB, dir, opts...)
	if err != nil {
		return wrap(err, "migrate")
	}
	results, err := p.Up(ctx)
	if err != nil {
		return wrap(err, "migrate")
	}
	for _, r := range results {
		db.logger.InfoContext(ctx, "migration applied",
			"version", r.Source.Version, "file", r.Source.Path, "duration_ms", r.Duration.Milliseconds())
	}
	return nil
}
