package store

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/stripesync/stripesync"
)

// target is a parsed database URL.
type target struct {
	dialect string
	// path is the SQLite file; dsn the Postgres connection URL as given.
	path string
	dsn  string
	// secrets are the URL's credentials (the userinfo password, every
	// password and sslpassword parameter), as given and as decoded, kept
	// only to scrub them from errors.
	secrets []string
}

// ValidateURL checks the syntax of a database URL ("sqlite:PATH",
// "postgres://…" or "postgresql://…") without opening anything. Config
// validation calls it so that a typo is reported at startup together with
// every other configuration problem. Errors are EINVALID and never quote the
// URL's password.
func ValidateURL(url string) error {
	_, err := parseURL(url)
	return err
}

func parseURL(raw string) (target, error) {
	switch {
	case raw == "":
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL is empty (want sqlite:PATH or postgres://…)")
	case strings.HasPrefix(raw, "sqlite:"):
		return parseSQLiteURL(strings.TrimPrefix(raw, "sqlite:"))
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return parsePostgresURL(raw)
	}
	scheme, _, found := strings.Cut(raw, ":")
	if !found || strings.ContainsAny(scheme, "/@") {
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL has no scheme (want sqlite:PATH or postgres://…)")
	}
	if scheme == "postgres" || scheme == "postgresql" {
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL must start with %s:// (want postgres://[user[:password]@]host[:port]/dbname)", scheme)
	}
	return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL scheme %q is not supported (want sqlite:PATH or postgres://…)", scheme)
}

func parseSQLiteURL(path string) (target, error) {
	switch {
	case path == "":
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL sqlite: names no file (want e.g. sqlite:stripesync.db)")
	case strings.HasPrefix(path, "//"):
		// "sqlite://x.db" would silently mean the absolute path "/x.db".
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL sqlite://… is ambiguous; write sqlite:PATH (e.g. sqlite:stripesync.db or sqlite:/var/lib/stripesync/stripesync.db)")
	case path == ":memory:" || strings.Contains(path, "mode=memory"):
		return target{}, stripesync.Errorf(stripesync.EINVALID, "an in-memory SQLite database loses every job and link on restart; give a file path")
	case strings.ContainsAny(path, "?#\x00"):
		// The driver reads its options after '?'; a path containing one
		// would be cut short.
		return target{}, stripesync.Errorf(stripesync.EINVALID, "SQLite path %q must not contain '?', '#' or NUL", path)
	}
	return target{dialect: DialectSQLite, path: path}, nil
}

func parsePostgresURL(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included; keep only
		// the reason.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL is not a valid postgres URL: %v", err)
	}
	if u.Opaque != "" {
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL must be postgres://[user[:password]@]host[:port]/dbname")
	}
	if db := strings.TrimPrefix(u.Path, "/"); strings.Contains(db, "/") {
		return target{}, stripesync.Errorf(stripesync.EINVALID, "database URL path %q must be a single database name", u.Path)
	}
	return target{dialect: DialectPostgres, dsn: raw, secrets: urlSecrets(raw, u)}, nil
}

// secretParams are the query parameters lib/pq reads a credential from: a
// password as readily as from the userinfo, and a client key's passphrase.
// Key and certificate paths (sslkey, sslcert) name files and are not
// secrets.
var secretParams = []string{"password", "sslpassword"}

// urlSecrets lists every credential u (parsed from raw) carries, each both
// decoded and as raw writes it (percent-encoded), since a driver message
// may quote either.
func urlSecrets(raw string, u *url.URL) []string {
	var out []string
	add := func(decoded, raw string) {
		for _, v := range []string{decoded, raw} {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	if pw, ok := u.User.Password(); ok {
		_, authority, _ := strings.Cut(raw, "://")
		if i := strings.IndexAny(authority, "/?#"); i >= 0 {
			authority = authority[:i]
		}
		userinfo := authority[:max(strings.LastIndex(authority, "@"), 0)]
		_, rawPW, _ := strings.Cut(userinfo, ":")
		add(pw, rawPW)
	}
	for _, pair := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || !slices.Contains(secretParams, strings.ToLower(key)) {
			continue
		}
		decoded, err := url.QueryUnescape(v)
		if err != nil {
			decoded = ""
		}
		add(decoded, v)
	}
	// Longest first, so that a secret containing another is replaced whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// scrub returns err, or a copy of its text without the URL's credentials
// when the text happens to contain one, so a driver message can never leak
// it.
func (t target) scrub(err error) error {
	if err == nil {
		return err
	}
	if text := t.scrubText(err.Error()); text != err.Error() {
		return errors.New(text)
	}
	return err
}

// scrubText is s without the URL's credentials.
func (t target) scrubText(s string) string {
	for _, secret := range t.secrets {
		s = strings.ReplaceAll(s, secret, "xxxxx")
	}
	return s
}
