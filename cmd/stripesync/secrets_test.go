package main

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDatabaseCredentialsNeverShown runs the binary with every form in
// which a database URL can carry a credential, against a Postgres that is
// not there and with a URL the driver refuses, and with -h, and looks for
// the credential in everything it writes: the start-up log, the error it
// exits with, the help text.
func TestDatabaseCredentialsNeverShown(t *testing.T) {
	const pw, keyPass = "pw-Secret1", "key-Secret2"
	// Each secret also as it reads percent-encoded: a password with '@'
	// or '&' in it must be written so.
	const odd = "p@ss&w%rd"
	urls := map[string]string{
		"userinfo":          "postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=disable",
		"password param":    "postgres://u@127.0.0.1:1/db?sslmode=disable&password=" + pw,
		"sslpassword param": "postgres://u@127.0.0.1:1/db?sslmode=disable&sslkey=/tmp/k.pem&sslpassword=" + keyPass,
		"both":              "postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=disable&password=" + pw + "x&sslpassword=" + keyPass,
		"percent-encoded":   "postgres://u:p%40ss%26w%25rd@127.0.0.1:1/db?sslmode=disable&password=p%40ss%26w%25rd",
		"refused by driver": "postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=sometimes&sslpassword=" + keyPass,
		"bad syntax":        "postgres://u:" + pw + "@[::1/db",
	}
	secrets := []string{pw, keyPass, odd, "p%40ss%26w%25rd", "p@ss"}
	check := func(t *testing.T, what string, out []byte) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(string(out), s) {
				t.Errorf("%s shows %q:\n%s", what, s, out)
			}
		}
	}
	// Everything else configured (the emulators), so that each command
	// gets as far as the database.
	_, base := emulatorEnv(t, "sqlite:unused.db", 0)
	for name, dbURL := range urls {
		t.Run(name, func(t *testing.T) {
			env := append(slices.Clip(base), "STRIPESYNC_DATABASE_URL="+dbURL, "STRIPESYNC_DB_WAIT=0", "STRIPESYNC_LISTEN=127.0.0.1:0",
				"STRIPESYNC_SIGNING_KEY=signing-key-of-at-least-32-bytes!!")
			for _, args := range [][]string{{"serve"}, {"sync", "accounts"}, {"link", "--invoice", "a0X000000000001AAA"}, {"serve", "-h"}, {"-h"}} {
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				cmd := exec.CommandContext(ctx, binary, args...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				timedOut := ctx.Err() != nil
				cancel()
				if timedOut {
					t.Fatalf("%v did not exit: %s", args, out)
				}
				if args[len(args)-1] != "-h" && err == nil {
					t.Errorf("%v exited 0 with an unreachable or invalid database:\n%s", args, out)
				}
				check(t, strings.Join(args, " "), out)
			}
		})
	}
	// The same URL as a flag instead of the environment.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--database-url", urls["both"], "--db-wait", "0")
	cmd.Env = append(slices.Clip(base), "STRIPESYNC_LISTEN=127.0.0.1:0")
	out, _ := cmd.CombinedOutput()
	check(t, "serve --database-url", out)
}
