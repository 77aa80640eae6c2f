package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/lib/pq"
	"github.com/stripesync/stripesync"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// wrap translates a database error into a *stripesync.Error whose message
// names the operation ("store: " + format). A *stripesync.Error raised
// inside the package passes through unchanged.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var se *stripesync.Error
	if errors.As(err, &se) {
		return err
	}
	return stripesync.WrapError(classify(err), err, "store: "+format, args...)
}

// classify maps a driver error to the domain code callers branch on; above
// all it separates the retryable (busy, unreachable, serialization failure)
// from the rest.
func classify(err error) stripesync.ErrorCode {
	var (
		pe *pq.Error
		se *sqlite.Error
		ne net.Error
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return stripesync.EUNAVAILABLE
	case errors.As(err, &pe):
		return postgresCode(pe)
	case errors.As(err, &se):
		return sqliteCode(se)
	case errors.As(err, &ne):
		return stripesync.EUNAVAILABLE
	}
	return stripesync.EINTERNAL
}

// postgresCode classifies by SQLSTATE class
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
func postgresCode(e *pq.Error) stripesync.ErrorCode {
	switch e.Code.Class() {
	case "08", // connection exception
		"40", // serialization failure, deadlock: the transaction can be retried
		"53", // insufficient resources (too many connections, disk full)
		"55", // object not in prerequisite state (lock not available)
		"57", // operator intervention (shutdown, query canceled)
		"58": // system error
		return stripesync.EUNAVAILABLE
	case "28": // invalid authorization
		return stripesync.EUNAUTHORIZED
	case "23": // integrity constraint violation
		return stripesync.ECONFLICT
	case "22", // data exception
		"3D": // invalid catalog name: the database in the URL does not exist
		return stripesync.EINVALID
	}
	return stripesync.EINTERNAL
}

// sqliteCode classifies by primary result code
// (https://www.sqlite.org/rescode.html).
func sqliteCode(e *sqlite.Error) stripesync.ErrorCode {
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_PERM, sqlite3.SQLITE_PROTOCOL:
		return stripesync.EUNAVAILABLE
	case sqlite3.SQLITE_CONSTRAINT:
		return stripesync.ECONFLICT
	case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE, sqlite3.SQLITE_MISMATCH:
		return stripesync.EINVALID
	}
	return stripesync.EINTERNAL
}
