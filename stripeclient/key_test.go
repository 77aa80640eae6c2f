package stripeclient

import (
	"errors"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		key       string
		wantMode  string
		wantInErr string
	}{
		{key: "sk_test_51Habc123", wantMode: "test"},
		{key: "sk_live_51Habc123", wantMode: "live"},
		{key: "rk_test_51Habc123", wantMode: "test"},
		{key: "rk_live_51Habc123", wantMode: "live"},
		{key: "pk_test_51Habc123", wantInErr: "publishable key"},
		{key: "pk_live_51Habc123", wantInErr: "use a secret (sk_) or restricted (rk_) key"},
		{key: "", wantInErr: "empty"},
		{key: "sk_test_", wantInErr: "malformed"},
		{key: "sk_test_abc 123", wantInErr: "malformed"},
		{key: "whsec_abcdefghijklmnop", wantInErr: "unknown prefix"},
		{key: "sk_prod_abcdefghijklmnop", wantInErr: "unknown prefix"},
	}
	for _, tt := range tests {
		mode, err := ParseKey(tt.key)
		if tt.wantInErr == "" {
			if err != nil || mode != tt.wantMode {
				t.Errorf("ParseKey(%q) = %q, %v; want %q", tt.key, mode, err, tt.wantMode)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
			t.Errorf("ParseKey(%q) error = %v, want one mentioning %q", tt.key, err, tt.wantInErr)
		}
		if code := stripesync.CodeOf(err); code != stripesync.EINVALID {
			t.Errorf("ParseKey(%q) code = %s, want EINVALID", tt.key, code)
		}
	}
}

func TestParseKeyNeverEchoesTheKey(t *testing.T) {
	for _, key := range []string{
		"pk_live_SECRETSECRETSECRET1234",
		"xx_live_SECRETSECRETSECRET1234",
		"sk_live_SECRET SECRETSECRET1234",
	} {
		_, err := ParseKey(key)
		if err == nil {
			t.Fatalf("ParseKey(%q) accepted", key)
		}
		if msg := err.Error(); strings.Contains(msg, "SECRET") {
			t.Errorf("ParseKey error %q reveals the key", msg)
		}
	}
	var e *stripesync.Error
	if _, err := ParseKey("pk_test_SECRETSECRETSECRET1234"); !errors.As(err, &e) || !strings.Contains(e.Message, "pk_test_…1234") {
		t.Errorf("ParseKey(pk_…) = %v, want the masked form pk_test_…1234", err)
	}
}

func TestMaskKey(t *testing.T) {
	for key, want := range map[string]string{
		"sk_test_4eC39HqLyjWDarjtT1zdp7dc": "sk_test_…p7dc",
		"rk_live_short":                    "rk_live_…",
		"whsec_0123456789abcdef":           "whsec_…cdef",
		"nonsense":                         "…",
	} {
		if got := MaskKey(key); got != want {
			t.Errorf("MaskKey(%q) = %q, want %q", key, got, want)
		}
	}
}
