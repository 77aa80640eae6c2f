package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runMeasured runs the stripesync binary to completion and returns its wall
// time and peak resident set size in bytes. The peak is the kernel's VmHWM
// of the process, polled until it exits: rusage's ru_maxrss would also count
// the benchmark process itself, whose memory the child shares between fork
// and exec.
func runMeasured(b *testing.B, env []string, args ...string) (time.Duration, int64) {
	b.Helper()
	cmd := exec.CommandContext(b.Context(), binary, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if hwm := readVmHWM(cmd.Process.Pid); hwm > peak {
			peak = hwm
		}
		select {
		case err := <-done:
			if err != nil {
				b.Fatalf("stripesync %v: %v\n%s", args, err, out.String())
			}
			return time.Since(start), peak
		case <-tick.C:
		}
	}
}

// readVmHWM returns the peak RSS of a live process from /proc, 0 if it is
// gone or not yet readable.
func readVmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkPush100kOnePercentChanged measures the incremental push of a
// large CRM: 100,000 accounts already in Stripe, 1% of them edited. The
// daemon runs as its own process (the emulators live in the benchmark
// process), so its peak RSS is measured alone. Targets: Stripe calls equal
// to the number of changed accounts, peak RSS under 150 MB.
func BenchmarkPush100kOnePercentChanged(b *testing.B) {
	const (
		accounts = 100_000
		changed  = accounts / 100
	)
	for range b.N {
		b.StopTimer()
		emu, err := startEmulators("127.0.0.1:0", "127.0.0.1:0", 0, 0, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, accounts)
		for i := range accounts {
			ids[i] = emu.sf.Insert("Account", map[string]any{
				"Name":             fmt.Sprintf("Account %06d", i),
				"Billing_Email__c": fmt.Sprintf("ap%06d@example.test", i),
				"BillingCity":      "Springfield",
				"BillingCountry":   "US",
			})
		}
		env := unpacedBenchEnv(b, emu)
		initialWall, initialRSS := runMeasured(b, env, "sync", "accounts")
		if n := len(emu.st.Customers()); n != accounts {
			b.Fatalf("initial push made %d customers, want %d", n, accounts)
		}
		for i := 0; i < accounts; i += accounts / changed {
			emu.sf.Update("Account", ids[i], map[string]any{"Name": fmt.Sprintf("Renamed %06d", i)})
		}
		emu.st.ResetRequests()

		b.StartTimer()
		wall, rss := runMeasured(b, env, "sync", "accounts")
		b.StopTimer()
		calls := len(emu.st.Requests())
		emu.Close()
		if calls != changed {
			b.Errorf("incremental push made %d Stripe calls, want %d", calls, changed)
		}
		b.ReportMetric(float64(calls), "stripe-calls")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(wall.Seconds(), "incremental-s")
		b.ReportMetric(float64(initialRSS)/(1<<20), "initial-peak-RSS-MiB")
		b.ReportMetric(initialWall.Seconds(), "initial-s")
	}
}

// unpacedBenchEnv is the environment of a benchmarked command against emu:
// a fresh SQLite ledger, warnings only, and Stripe unpaced (the emulator
// is local; pacing is not what these benchmarks measure).
func unpacedBenchEnv(b *testing.B, emu *emulators) []string {
	env := []string{
		"HOME=" + b.TempDir(),
		"STRIPESYNC_DATABASE_URL=sqlite:" + filepath.Join(b.TempDir(), "ledger.db"),
		"STRIPESYNC_STRIPE_RATE=1000000",
		"STRIPESYNC_LOG_LEVEL=warn",
	}
	for k, v := range emu.env() {
		env = append(env, k+"="+v)
	}
	return env
}
