package stripeclient

import (
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the joined error; none means valid
	}{
		{name: "minimal", cfg: Config{Key: "sk_test_abc"}},
		{name: "full", cfg: Config{Key: "rk_live_abc", BaseURL: "http://127.0.0.1:12111", Account: "acct_1Abc", RatePerSecond: 10}},
		{name: "publishable key", cfg: Config{Key: "pk_test_abc"}, want: []string{"publishable"}},
		{
			name: "everything wrong at once",
			cfg:  Config{Key: "", BaseURL: "api.stripe.com", Account: "1234", RatePerSecond: -1},
			want: []string{"empty", "base URL", "acct_", "rate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := New(tt.cfg); err != nil {
					t.Fatalf("New() = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
			if code := stripesync.CodeOf(err); code != stripesync.EINVALID {
				t.Errorf("code = %s, want EINVALID", code)
			}
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestModeAndDefaults(t *testing.T) {
	for key, want := range map[string]struct {
		mode string
		rate float64
	}{
		"sk_test_abc": {"test", 25},
		"sk_live_abc": {"live", 100},
	} {
		c, err := New(Config{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		tr := c.api.Customers.B.(*stripe.BackendImplementation).HTTPClient.Transport.(*transport)
		if c.Mode() != want.mode || float64(tr.pace.max) != want.rate || c.maxRetries != 4 {
			t.Errorf("New(%s): mode %s, rate %v, retries %d; want %s, %v, 4", key, c.Mode(), tr.pace.max, c.maxRetries, want.mode, want.rate)
		}
	}
}
