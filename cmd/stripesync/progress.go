package main

import (
	"fmt"
	"io"
	"os"

	"github.com/stripesync/stripesync"
)

// progress draws a one-line progress display on a terminal and stays quiet
// otherwise (logs and pipes get the summary only). The account stream has no
// known end, so it counts rather than showing a percentage.
type progress struct {
	w    io.Writer
	what string
	tty  bool
	drew bool
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, tty: isTerminal(w)}
}

func (p *progress) update(run stripesync.SyncRun) {
	if !p.tty {
		return
	}
	p.drew = true
	fmt.Fprintf(p.w, "\r\033[K%s: %d seen · %d pushed · %d skipped · %d failed",
		p.what, run.Seen, run.Pushed, run.Skipped, run.Failed)
}

func (p *progress) done() {
	if p.drew {
		fmt.Fprintln(p.w)
	}
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
