package main

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
)

// screen replays what was written to a terminal (carriage return, erase to
// the end of the line, newline) and returns the lines left on it.
func screen(out string) []string {
	lines := []string{""}
	for len(out) > 0 {
		cur := &lines[len(lines)-1]
		switch {
		case strings.HasPrefix(out, clearLine):
			*cur, out = "", out[len(clearLine):]
		case out[0] == '\r':
			*cur, out = "", out[1:] // every write after \r here rewrites the whole line
		case out[0] == '\n':
			lines, out = append(lines, ""), out[1:]
		default:
			*cur, out = *cur+out[:1], out[1:]
		}
	}
	return lines
}

// A log line written while the bar is drawn lands on a line of its own,
// above the bar, and the bar is drawn again after it.
func TestProgressBarAndLogsNeverShareALine(t *testing.T) {
	var term bytes.Buffer
	bar := &progress{w: &term, what: "accounts", tty: true}
	logger := slog.New(slog.NewTextHandler(bar.logs(), nil))
	logger.Info("before the bar")
	for i := 1; i <= 3; i++ {
		bar.update(stripesync.SyncRun{Seen: i * 10, Pushed: i})
		logger.Warn("push failed for one account", "account_id", i)
	}
	bar.update(stripesync.SyncRun{Seen: 40, Pushed: 4})
	bar.done()
	logger.Info("after the bar")

	lines := screen(term.String())
	var logs, bars int
	for _, l := range lines {
		isLog, isBar := strings.Contains(l, "msg="), strings.Contains(l, " seen · ")
		if isLog && isBar {
			t.Errorf("a log line shares its line with the bar: %q", l)
		}
		if isLog {
			logs++
		}
		if isBar {
			bars++
		}
	}
	if logs != 5 || bars != 1 || !strings.Contains(lines[len(lines)-2], "after the bar") {
		t.Errorf("screen has %d log lines and %d bars, want 5 and the final bar once:\n%s", logs, bars, strings.Join(lines, "\n"))
	}
	if !slices.Contains(lines, "accounts: 40 seen · 4 pushed · 0 skipped · 0 failed") {
		t.Errorf("the bar's last state is not left on screen:\n%s", strings.Join(lines, "\n"))
	}
}
