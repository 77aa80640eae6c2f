package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync/store/storetest"
)

// The webhook acceptance benchmark is driven by the shared load generator,
// which lives outside this module (it is a tool of the team, not of the
// product). STRIPESYNC_BENCH_LOADGEN names its directory; the default is
// where it sits next to a checkout of this repository.
const (
	envLoadgen  = "STRIPESYNC_BENCH_LOADGEN"
	envBaseline = "STRIPESYNC_BENCH_BASELINE"
	envEvents   = "STRIPESYNC_BENCH_EVENTS"
	envProfile  = "STRIPESYNC_BENCH_PROFILE"
	envCeiling  = "STRIPESYNC_BENCH_CEILING"

	defaultLoadgen = "../../../shared/tools/webhook-loadgen"
	benchSecret    = "whsec_acceptanceBenchmark0123456789"
)

var (
	loadgenOnce sync.Once
	loadgenBin  string
	loadgenErr  error
)

// buildCeiling compiles internal/webhookceiling, the verify-parse-insert
// server that bounds what any acceptance path can reach on the machine.
func buildCeiling(b *testing.B) string {
	b.Helper()
	path := filepath.Join(filepath.Dir(binary), "webhookceiling")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	out, err := exec.Command("go", "build", "-o", path, "../../internal/webhookceiling").CombinedOutput()
	if err != nil {
		b.Fatalf("build the ceiling server: %v\n%s", err, out)
	}
	return path
}

// buildLoadgen compiles the load generator once per benchmark process, so
// that no run pays for `go run`'s compile on the two cores it measures.
func buildLoadgen(b *testing.B) string {
	b.Helper()
	dir := os.Getenv(envLoadgen)
	if dir == "" {
		dir = defaultLoadgen
	}
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		b.Skipf("no load generator in %s (set %s): %v", dir, envLoadgen, err)
	}
	loadgenOnce.Do(func() {
		loadgenBin = filepath.Join(filepath.Dir(binary), "webhook-loadgen")
		cmd := exec.Command("go", "build", "-o", loadgenBin, ".")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			loadgenErr = fmt.Errorf("build the load generator: %v\n%s", err, out)
		}
	})
	if loadgenErr != nil {
		b.Fatal(loadgenErr)
	}
	return loadgenBin
}

// BenchmarkWebhookAcceptance measures POST /stripe/webhook from outside,
// as Stripe sees it: the stripesync binary runs `serve` as its own process
// on a fresh database, and the shared load generator posts signed,
// pretty-printed payment_intent.succeeded and charge.refunded events (2.6
// and 3.6 KB) over keep-alive connections with 1, 8 and 32 senders, after a
// warm-up of 1,000. Reported per run: accepted events/s, the client's p50
// and p99 latency, and the daemon's CPU time per event (user + system,
// warm-up included).
//
// The daemon's event worker runs too: the PaymentIntents the events name
// exist nowhere, so each costs it one 404 from the Stripe emulator, paced at
// 25 reads/s, which keeps the background work small and steady.
//
// STRIPESYNC_BENCH_BASELINE names another stripesync binary (say, built
// from an older commit); each case then runs it and this tree's binary in
// turn, so the two meet the same load on a noisy machine. Run the command
// several times rather than with -count, which repeats each binary's run
// back to back. STRIPESYNC_BENCH_CEILING=1 adds a third contender,
// internal/webhookceiling: a server that only verifies, parses and inserts
// with a group commit, which is as fast as acceptance can be on the
// machine, measured in the same run. STRIPESYNC_BENCH_EVENTS
// changes the 10,000 measured events. STRIPESYNC_BENCH_PROFILE names a
// directory that receives a CPU profile of this tree's daemon for each case
// (cpu-DIALECT-SENDERS.pprof, taken through STRIPESYNC_PPROF_LISTEN over the
// first seconds of the load, warm-up included). Postgres runs in a fresh schema of
// STRIPESYNC_TEST_DATABASE_URL and is skipped without it.
func BenchmarkWebhookAcceptance(b *testing.B) {
	loadgen := buildLoadgen(b)
	events := envInt(b, envEvents, 10_000)
	type daemon struct{ name, path string }
	daemons := []daemon{{"head", binary}}
	if base := os.Getenv(envBaseline); base != "" {
		daemons = append([]daemon{{"baseline", base}}, daemons...)
	}
	if os.Getenv(envCeiling) == "1" {
		daemons = append([]daemon{{"ceiling", buildCeiling(b)}}, daemons...)
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, senders := range []int{1, 8, 32} {
			for _, d := range daemons {
				b.Run(fmt.Sprintf("%s/senders=%d/%s", dialect, senders, d.name), func(b *testing.B) {
					for range b.N {
						profile := ""
						if dir := os.Getenv(envProfile); dir != "" && d.name == "head" {
							profile = filepath.Join(dir, fmt.Sprintf("cpu-%s-%d.pprof", dialect, senders))
						}
						acceptRun(b, d.path, loadgen, dialect, senders, events, profile)
					}
				})
			}
		}
	}
}

// loadgenReport is the part of the load generator's -json output the
// benchmark reports.
type loadgenReport struct {
	Result struct {
		Accepted        int64   `json:"accepted_2xx"`
		Non2xx          int64   `json:"non_2xx"`
		TransportErrors int64   `json:"transport_errors"`
		EventsPerSecond float64 `json:"accepted_events_per_s"`
		P50             float64 `json:"p50_ms"`
		P99             float64 `json:"p99_ms"`
	} `json:"result"`
}

// acceptRun serves one fresh database with daemon and loads it once. With
// a profile path, the daemon serves profiles and a CPU profile of the load
// is written there.
func acceptRun(b *testing.B, daemon, loadgen, dialect string, senders, events int, profile string) {
	b.StopTimer()
	dbURL := "sqlite:" + filepath.Join(b.TempDir(), "ledger.db")
	if dialect == "postgres" {
		dbURL = storetest.PostgresURL(b)
	}
	_, env := emulatorEnv(b, dbURL, 0)
	listen := freeAddr(b)
	env = append(env, "STRIPESYNC_LISTEN="+listen, "STRIPE_WEBHOOK_SECRET="+benchSecret, "STRIPESYNC_LOG_LEVEL=warn")
	pprofAddr := ""
	if profile != "" {
		pprofAddr = freeAddr(b)
		env = append(env, "STRIPESYNC_PPROF_LISTEN="+pprofAddr)
	}

	var log bytes.Buffer
	serve := exec.Command(daemon, "serve")
	serve.Env = env
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		if err := serve.Wait(); err != nil {
			b.Errorf("serve exited with %v after SIGTERM; log:\n%s", err, log.String())
		}
	}()
	waitReady(b, "http://"+listen+"/readyz", &log)

	out := filepath.Join(b.TempDir(), "loadgen.json")
	gen := exec.CommandContext(b.Context(), loadgen,
		"-url", "http://"+listen+"/stripe/webhook", "-secret", benchSecret,
		"-type", "payment_intent.succeeded,charge.refunded",
		"-n", strconv.Itoa(events), "-c", strconv.Itoa(senders), "-warmup", "1000", "-json", out)
	cpuBefore := cpuTime(b, serve.Process.Pid)
	profiled := make(chan error, 1)
	if profile != "" {
		go func() { profiled <- fetchProfile("http://"+pprofAddr+"/debug/pprof/profile?seconds=3", profile) }()
	} else {
		profiled <- nil
	}
	b.StartTimer()
	genOut, err := gen.CombinedOutput()
	b.StopTimer()
	cpu := cpuTime(b, serve.Process.Pid) - cpuBefore
	if perr := <-profiled; perr != nil {
		b.Errorf("CPU profile: %v", perr)
	}
	if err != nil {
		b.Fatalf("load generator: %v\n%s\ndaemon log:\n%s", err, genOut, log.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	var rep loadgenReport
	if err := json.Unmarshal(data, &rep); err != nil {
		b.Fatalf("load generator report: %v", err)
	}
	r := rep.Result
	if r.Accepted != int64(events) || r.Non2xx != 0 || r.TransportErrors != 0 {
		b.Fatalf("%d of %d events accepted, %d non-2xx, %d transport errors\n%s", r.Accepted, events, r.Non2xx, r.TransportErrors, genOut)
	}
	b.ReportMetric(r.EventsPerSecond, "events/s")
	b.ReportMetric(r.P50, "p50-ms")
	b.ReportMetric(r.P99, "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(events+1000), "serve-cpu-µs/event")
}

// fetchProfile saves the profile url answers to path.
func fetchProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// waitReady polls url until it answers 200.
func waitReady(tb testing.TB, url string, log *bytes.Buffer) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("serve never became ready at %s; log:\n%s", url, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuTime returns the user plus system time a live process has used, from
// /proc/PID/stat, whose clock ticks are USER_HZ (100 on Linux).
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name, in parentheses, may contain spaces; fields 14 and
	// 15 (utime, stime) count from after it, where field 3 begins.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("read CPU time of %d: %q", pid, data)
	}
	return time.Duration(utime+stime) * (time.Second / 100)
}
