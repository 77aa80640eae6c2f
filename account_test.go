package stripesync

import (
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": PolicyCreate, "Create": PolicyCreate, " existing ": PolicyExisting, "IGNORE": PolicyIgnore} {
		got, err := ParsePolicy(in)
		if err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParsePolicy("Merge"); CodeOf(err) != EINVALID {
		t.Errorf("ParsePolicy(Merge) error = %v, want EINVALID", err)
	}
}

func TestCustomerHash(t *testing.T) {
	base := Customer{Name: "Acme", Email: "ap@acme.test", CRMAccountID: "001000000000001AAA"}
	same := Customer{Name: "Acme", Email: "ap@acme.test", CRMAccountID: "001000000000001AAA"}
	if base.Hash() != same.Hash() {
		t.Fatal("Hash is not deterministic")
	}
	changed := base
	changed.Address.City = "Berlin"
	if changed.Hash() == base.Hash() {
		t.Error("changing the city did not change the hash")
	}
	// Field boundaries matter: moving a character between fields is a change.
	a := Customer{Name: "ab", Email: "c"}
	b := Customer{Name: "a", Email: "bc"}
	if a.Hash() == b.Hash() {
		t.Error("hash ignores field boundaries")
	}
}

func TestIdempotencyKey(t *testing.T) {
	k := IdempotencyKey("customer-create", "001A", "1")
	if k != "stripesync:customer-create:001A:1" {
		t.Errorf("IdempotencyKey = %q", k)
	}
	long := IdempotencyKey(strings.Repeat("x", 300))
	if len(long) > 255 || long != IdempotencyKey(strings.Repeat("x", 300)) {
		t.Errorf("long key %q is not a stable key within Stripe's 255 characters", long)
	}
}

func TestErrorHelpers(t *testing.T) {
	cause := Errorf(ENOTFOUND, "no such customer")
	wrapped := WrapError(EUNAVAILABLE, cause, "push account %s", "001")
	if CodeOf(wrapped) != EUNAVAILABLE || !Retryable(wrapped) {
		t.Errorf("CodeOf = %q, Retryable = %v", CodeOf(wrapped), Retryable(wrapped))
	}
	if got := wrapped.Error(); got != "push account 001: no such customer" {
		t.Errorf("Error() = %q", got)
	}
	if MessageOf(errPlain("secret sk_live_x")) != "internal error" {
		t.Error("MessageOf leaked the text of a plain error")
	}
	if CodeOf(nil) != "" {
		t.Error("CodeOf(nil) is not empty")
	}
}

type errPlain string

func (e errPlain) Error() string { return string(e) }
