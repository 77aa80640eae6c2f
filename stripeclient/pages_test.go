package stripeclient

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeList is a Stripe list of ids (oldest first in items) served newest
// first in pages of size, with Stripe's cursor semantics.
type fakeList struct {
	items    []string
	size     int
	requests int
	failAt   int // request number that fails; 0 never
	// onPage runs before each answer, to change the list mid-walk.
	onPage func(l *fakeList)
}

func (l *fakeList) page(after, before string) ([]string, bool, error) {
	l.requests++
	if l.onPage != nil {
		l.onPage(l)
	}
	if l.requests == l.failAt {
		return nil, false, errors.New("boom")
	}
	newest := slices.Clone(l.items)
	slices.Reverse(newest)
	switch {
	case after != "":
		i := slices.Index(newest, after)
		rest := newest[i+1:]
		if len(rest) > l.size {
			return rest[:l.size], true, nil
		}
		return rest, false, nil
	case before != "":
		i := slices.Index(newest, before)
		from := max(0, i-l.size)
		return newest[from:i], from > 0, nil
	}
	if len(newest) > l.size {
		return newest[:l.size], true, nil
	}
	return newest, false, nil
}

func ids(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("id%02d", i))
	}
	return out
}

func walk(l *fakeList, stopAfter int) ([]string, error) {
	var got []string
	var err error
	oldestFirst(l.page, func(s string) string { return s }, func(s string, e error) bool {
		if e != nil {
			err = e
			return false
		}
		got = append(got, s)
		return len(got) != stopAfter
	})
	return got, err
}

func TestOldestFirst(t *testing.T) {
	tests := []struct {
		name         string
		n            int
		wantRequests int
	}{
		{"empty", 0, 1},
		{"one partial page", 2, 1},
		{"one full page", 3, 1},
		{"two pages", 4, 3},
		{"exact pages", 9, 5},
		{"several pages", 10, 7},
	}
	for _, tt := range tests {
		l := &fakeList{items: ids(tt.n), size: 3}
		got, err := walk(l, -1)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(l.items, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if l.requests != tt.wantRequests {
			t.Errorf("%s: %d requests, want %d", tt.name, l.requests, tt.wantRequests)
		}
	}
}

func TestOldestFirstEdges(t *testing.T) {
	// Items added during the walk come last.
	l := &fakeList{items: ids(7), size: 3}
	l.onPage = func(l *fakeList) {
		if l.requests == 4 {
			l.items = append(l.items, "new1", "new2")
		}
	}
	got, _ := walk(l, -1)
	if diff := cmp.Diff(append(ids(7), "new1", "new2"), got); diff != "" {
		t.Errorf("with additions (-want +got):\n%s", diff)
	}

	// The oldest items expire between the pages of leg one.
	l = &fakeList{items: ids(6), size: 3}
	l.onPage = func(l *fakeList) {
		if l.requests == 2 {
			l.items = l.items[3:]
		}
	}
	if got, _ := walk(l, -1); !slices.Equal(got, []string{"id03", "id04", "id05"}) {
		t.Errorf("with expiry: %v", got)
	}

	// Errors in either leg end the walk; a stop ends fetching.
	for _, failAt := range []int{1, 2, 5} {
		l = &fakeList{items: ids(10), size: 3, failAt: failAt}
		if _, err := walk(l, -1); err == nil || l.requests != failAt {
			t.Errorf("failure at request %d: err %v after %d requests", failAt, err, l.requests)
		}
	}
	l = &fakeList{items: ids(10), size: 3}
	if got, _ := walk(l, 1); len(got) != 1 || l.requests != 4 {
		t.Errorf("stopped after the oldest: got %v with %d requests, want 4 (leg one only)", got, l.requests)
	}
}
