package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/stripesync/stripesync"
)

// progress draws a one-line progress display on a terminal and stays quiet
// otherwise (logs and pipes get the summary only). The account stream has no
// known end, so it counts rather than showing a percentage.
//
// Log lines written while the bar is drawn go through logs(), which clears
// the bar's line first and draws the bar again below the log line, so the
// two never share a line. One lock orders the bar's and the log's writes.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	what string
	tty  bool
	line string // the bar as drawn now; "" when none is on screen
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, tty: isTerminal(w)}
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\033[K"

func (p *progress) update(run stripesync.SyncRun) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line = fmt.Sprintf("%s: %d seen · %d pushed · %d skipped · %d failed",
		p.what, run.Seen, run.Pushed, run.Skipped, run.Failed)
	fmt.Fprint(p.w, clearLine+p.line)
}

// done leaves the last state of the bar on its own line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.line != "" {
		fmt.Fprintln(p.w)
		p.line = ""
	}
}

// logs returns the writer the logger must write to while the bar is in use.
func (p *progress) logs() io.Writer { return barLogs{p} }

// barLogs writes log records above the bar. slog hands each record to
// Write whole, ending in a newline, so the bar is drawn again on the line
// after it.
type barLogs struct{ p *progress }

func (l barLogs) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if l.p.line == "" {
		return l.p.w.Write(b)
	}
	if _, err := io.WriteString(l.p.w, clearLine); err != nil {
		return 0, err
	}
	n, err := l.p.w.Write(b)
	if err != nil {
		return n, err
	}
	_, err = io.WriteString(l.p.w, l.p.line)
	return n, err
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
