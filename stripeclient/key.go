package stripeclient

import (
	"strings"

	"github.com/stripesync/stripesync"
)

// The modes a key runs in.
const (
	ModeTest = "test"
	ModeLive = "live"
)

// ParseKey returns the mode ("test" or "live") of a secret (sk_) or
// restricted (rk_) API key. A publishable key (pk_) is refused: it cannot
// call the server endpoints the daemon needs. Errors are EINVALID and show
// the key only masked (sk_test_…1234).
func ParseKey(key string) (mode string, err error) {
	if key == "" {
		return "", stripesync.Errorf(stripesync.EINVALID, "Stripe API key is empty")
	}
	prefix := keyPrefix(key)
	switch {
	case prefix == "" || prefix == "whsec_":
		return "", stripesync.Errorf(stripesync.EINVALID,
			"Stripe API key %s has an unknown prefix: want sk_test_, sk_live_, rk_test_ or rk_live_", MaskKey(key))
	case strings.HasPrefix(prefix, "pk_"):
		return "", stripesync.Errorf(stripesync.EINVALID,
			"Stripe API key %s is a publishable key, which cannot call the API from a server: use a secret (sk_) or restricted (rk_) key", MaskKey(key))
	case len(key) == len(prefix) || strings.ContainsAny(key, " \t\r\n"):
		return "", stripesync.Errorf(stripesync.EINVALID, "Stripe API key %s is malformed", MaskKey(key))
	}
	if strings.HasSuffix(prefix, "_live_") {
		return ModeLive, nil
	}
	return ModeTest, nil
}

// MaskKey shows a key in a form safe for logs and errors: its known prefix
// and, when enough stays hidden, its last four characters (sk_test_…1234).
func MaskKey(key string) string {
	prefix := keyPrefix(key)
	if len(key)-len(prefix) < 12 {
		return prefix + "…"
	}
	return prefix + "…" + key[len(key)-4:]
}

// keyPrefix returns the Stripe key prefix key starts with, or "".
func keyPrefix(key string) string {
	for _, p := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_", "whsec_"} {
		if strings.HasPrefix(key, p) {
			return p
		}
	}
	return ""
}
