package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

func testLinks(t *testing.T, setup setupFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		in := stripesync.AccountLink{
			CRMID:        "001000000000001AAA",
			StripeID:     "cus_PQRst12345",
			Policy:       stripesync.PolicyExisting,
			State:        stripesync.LinkBound,
			Hash:         "9f86d081884c7d659a2feaa0c55ad015",
			Version:      7,
			WriteAttempt: 2,
			LastError:    "card_declined: ünïcode kept",
			SyncedAt:     start.Add(-time.Hour),
			UpdatedAt:    start.Add(-time.Minute),
		}
		if err := db.SaveAccountLink(ctx, in); err != nil {
			t.Fatalf("SaveAccountLink: %v", err)
		}
		got, err := db.AccountLinks(ctx, []string{in.CRMID, "001000000000404AAA"})
		if err != nil {
			t.Fatalf("AccountLinks: %v", err)
		}
		want := in
		want.SyncedAt, want.UpdatedAt = stored(in.SyncedAt), stored(in.UpdatedAt)
		if diff := cmp.Diff(map[string]stripesync.AccountLink{in.CRMID: want}, got); diff != "" {
			t.Errorf("AccountLinks after save (-want +got):\n%s", diff)
		}
		wantUTC(t, "link", got[in.CRMID].SyncedAt, got[in.CRMID].UpdatedAt)

		// Saving again replaces every field; zero times stay zero, except
		// UpdatedAt, which defaults to now.
		clock.Advance(time.Second)
		replaced := stripesync.AccountLink{CRMID: in.CRMID, Policy: stripesync.PolicyIgnore, State: stripesync.LinkIgnored}
		if err := db.SaveAccountLink(ctx, replaced); err != nil {
			t.Fatalf("SaveAccountLink (replace): %v", err)
		}
		got, err = db.AccountLinks(ctx, []string{in.CRMID})
		if err != nil {
			t.Fatalf("AccountLinks: %v", err)
		}
		want = replaced
		want.UpdatedAt = stored(clock.Now())
		if diff := cmp.Diff(map[string]stripesync.AccountLink{in.CRMID: want}, got); diff != "" {
			t.Errorf("AccountLinks after replace (-want +got):\n%s", diff)
		}
	})

	t.Run("ManyIDs", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		// More ids than one query takes, to cross batch boundaries.
		var ids []string
		want := map[string]stripesync.AccountLink{}
		for i := range 1100 {
			id := fmt.Sprintf("001%015d", i)
			ids = append(ids, id)
			if i%2 == 1 {
				continue
			}
			l := stripesync.AccountLink{CRMID: id, StripeID: fmt.Sprintf("cus_%d", i), Policy: stripesync.PolicyCreate,
				State: stripesync.LinkBound, Version: int64(i), UpdatedAt: stored(start)}
			if err := db.SaveAccountLink(ctx, l); err != nil {
				t.Fatalf("SaveAccountLink(%s): %v", id, err)
			}
			want[id] = l
		}
		got, err := db.AccountLinks(ctx, ids)
		if err != nil {
			t.Fatalf("AccountLinks: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("AccountLinks(1100 ids) (-want +got):\n%s", diff)
		}
		for _, ids := range [][]string{nil, {}} {
			got, err := db.AccountLinks(ctx, ids)
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("AccountLinks(%#v) = %v, %v; want an empty map", ids, got, err)
			}
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		for _, l := range []stripesync.AccountLink{
			{Policy: stripesync.PolicyCreate, State: stripesync.LinkBound},
			{CRMID: "001A", State: stripesync.LinkBound},
			{CRMID: "001A", Policy: "Sometimes", State: stripesync.LinkBound},
			{CRMID: "001A", Policy: stripesync.PolicyCreate},
			{CRMID: "001A", Policy: stripesync.PolicyCreate, State: "lost"},
		} {
			wantCode(t, fmt.Sprintf("SaveAccountLink(%+v)", l), db.SaveAccountLink(ctx, l), stripesync.EINVALID)
		}
		got, err := db.AccountLinks(ctx, []string{"001A", ""})
		if err != nil || len(got) != 0 {
			t.Errorf("AccountLinks after rejected saves = %v, %v; want nothing saved", got, err)
		}
	})

	t.Run("Count", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		zero := map[stripesync.LinkState]int{
			stripesync.LinkPending: 0, stripesync.LinkBound: 0, stripesync.LinkFailed: 0,
			stripesync.LinkIgnored: 0, stripesync.LinkUnbound: 0,
		}
		got, err := db.CountAccountLinks(ctx)
		if err != nil {
			t.Fatalf("CountAccountLinks: %v", err)
		}
		if diff := cmp.Diff(zero, got); diff != "" {
			t.Errorf("CountAccountLinks on an empty store (-want +got):\n%s", diff)
		}
		for i, s := range []stripesync.LinkState{stripesync.LinkBound, stripesync.LinkBound, stripesync.LinkFailed, stripesync.LinkBound} {
			l := stripesync.AccountLink{CRMID: fmt.Sprintf("001%d", i), Policy: stripesync.PolicyCreate, State: s}
			if err := db.SaveAccountLink(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		// Re-saving a link moves it between states rather than adding one.
		if err := db.SaveAccountLink(ctx, stripesync.AccountLink{CRMID: "0013", Policy: stripesync.PolicyCreate, State: stripesync.LinkUnbound}); err != nil {
			t.Fatal(err)
		}
		want := zero
		want[stripesync.LinkBound], want[stripesync.LinkFailed], want[stripesync.LinkUnbound] = 2, 1, 1
		got, err = db.CountAccountLinks(ctx)
		if err != nil {
			t.Fatalf("CountAccountLinks: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CountAccountLinks (-want +got):\n%s", diff)
		}
	})
}

func testCursors(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	cursor := func(name string) time.Time {
		t.Helper()
		at, err := db.Cursor(ctx, name)
		if err != nil {
			t.Fatalf("Cursor(%q): %v", name, err)
		}
		return at
	}
	if at := cursor("accounts"); !at.IsZero() {
		t.Errorf("Cursor before any SetCursor = %v, want zero", at)
	}
	for _, at := range []time.Time{start, start.Add(-48 * time.Hour), start.Add(time.Nanosecond)} {
		if err := db.SetCursor(ctx, "accounts", at); err != nil {
			t.Fatalf("SetCursor(%v): %v", at, err)
		}
		got := cursor("accounts")
		if !got.Equal(stored(at)) {
			t.Errorf("Cursor after SetCursor(%v) = %v, want %v", at, got, stored(at))
		}
		wantUTC(t, "cursor", got)
	}
	if at := cursor("payments"); !at.IsZero() {
		t.Errorf("Cursor(payments) = %v after setting only accounts, want zero", at)
	}
	if err := db.SetCursor(ctx, "accounts", time.Time{}); err != nil {
		t.Fatalf("SetCursor(zero): %v", err)
	}
	if at := cursor("accounts"); !at.IsZero() {
		t.Errorf("Cursor after SetCursor(zero) = %v, want zero", at)
	}
	wantCode(t, "SetCursor with no name", db.SetCursor(ctx, "", start), stripesync.EINVALID)
}

func testRuns(t *testing.T, setup setupFunc) {
	t.Run("StartFinishRoundTrip", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		run, err := db.StartRun(ctx, "accounts", start)
		if err != nil {
			t.Fatalf("StartRun: %v", err)
		}
		if run.ID == 0 {
			t.Errorf("StartRun returned ID 0")
		}
		want := stripesync.SyncRun{ID: run.ID, Kind: "accounts", StartedAt: stored(start), Status: stripesync.RunRunning}
		if diff := cmp.Diff(want, run); diff != "" {
			t.Errorf("StartRun (-want +got):\n%s", diff)
		}
		runs, err := db.Runs(ctx, "accounts", 10)
		if err != nil {
			t.Fatalf("Runs: %v", err)
		}
		if diff := cmp.Diff([]stripesync.SyncRun{want}, runs); diff != "" {
			t.Errorf("Runs while running (-want +got):\n%s", diff)
		}

		done := run
		done.FinishedAt = start.Add(90 * time.Second)
		done.Status = stripesync.RunPartial
		done.Seen, done.Pushed, done.Skipped, done.Failed = 1200, 31, 1160, 9
		done.Error = "9 accounts failed"
		done.CursorFrom, done.CursorTo = start.Add(-time.Hour), start.Add(time.Nanosecond)
		if err := db.FinishRun(ctx, done); err != nil {
			t.Fatalf("FinishRun: %v", err)
		}
		runs, err = db.Runs(ctx, "accounts", 10)
		if err != nil {
			t.Fatalf("Runs: %v", err)
		}
		want = done
		want.StartedAt, want.FinishedAt = stored(done.StartedAt), stored(done.FinishedAt)
		want.CursorFrom, want.CursorTo = stored(done.CursorFrom), stored(done.CursorTo)
		if diff := cmp.Diff([]stripesync.SyncRun{want}, runs); diff != "" {
			t.Errorf("Runs after FinishRun (-want +got):\n%s", diff)
		}
		wantUTC(t, "run", runs[0].StartedAt, runs[0].FinishedAt, runs[0].CursorFrom, runs[0].CursorTo)

		// Zero times: StartRun and FinishRun default to now.
		clock.Advance(time.Hour)
		second, err := db.StartRun(ctx, "accounts", time.Time{})
		if err != nil {
			t.Fatalf("StartRun(zero): %v", err)
		}
		second.Status = stripesync.RunFailed
		if err := db.FinishRun(ctx, second); err != nil {
			t.Fatalf("FinishRun: %v", err)
		}
		runs, err = db.Runs(ctx, "accounts", 1)
		if err != nil {
			t.Fatalf("Runs: %v", err)
		}
		if len(runs) != 1 || !runs[0].StartedAt.Equal(stored(clock.Now())) || !runs[0].FinishedAt.Equal(stored(clock.Now())) {
			t.Errorf("Runs(limit 1) = %+v, want the run started and finished at %v", runs, stored(clock.Now()))
		}
	})

	t.Run("NewestFirst", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		var ids []int64
		for i, k := range []string{"accounts", "payments", "accounts", "accounts", "payments"} {
			// Out of order on purpose: the order is by start time.
			at := start.Add(time.Duration([]int{2, 0, 0, 3, 1}[i]) * time.Hour)
			run, err := db.StartRun(ctx, k, at)
			if err != nil {
				t.Fatalf("StartRun: %v", err)
			}
			ids = append(ids, run.ID)
		}
		for _, tc := range []struct {
			kind  string
			limit int
			want  []int64
		}{
			{"accounts", 10, []int64{ids[3], ids[0], ids[2]}},
			{"accounts", 2, []int64{ids[3], ids[0]}},
			{"payments", 0, []int64{ids[4], ids[1]}},
			{"", 10, []int64{ids[3], ids[0], ids[4], ids[2], ids[1]}},
			{"reconcile", 10, nil},
		} {
			runs, err := db.Runs(ctx, tc.kind, tc.limit)
			if err != nil {
				t.Fatalf("Runs(%q, %d): %v", tc.kind, tc.limit, err)
			}
			var got []int64
			for _, r := range runs {
				got = append(got, r.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Runs(%q, %d) ids (-want +got):\n%s", tc.kind, tc.limit, diff)
			}
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		_, err := db.StartRun(ctx, "", start)
		wantCode(t, "StartRun with no kind", err, stripesync.EINVALID)
		err = db.FinishRun(ctx, stripesync.SyncRun{ID: 4242, Kind: "accounts", StartedAt: start, Status: stripesync.RunSucceeded})
		wantCode(t, "FinishRun of a missing run", err, stripesync.ENOTFOUND)
		run, err := db.StartRun(ctx, "accounts", start)
		if err != nil {
			t.Fatal(err)
		}
		run.Status = "exploded"
		wantCode(t, "FinishRun with an unknown status", db.FinishRun(ctx, run), stripesync.EINVALID)
	})
}
