package web

import (
	"testing"

	"github.com/stripesync/stripesync"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		ok           bool
	}{
		{"20.00", "USD", 2000, true},
		{"20", "USD", 2000, true},
		{" $1,250.50 ", "USD", 125050, true},
		{"0.49", "USD", 49, true},
		{"20.001", "USD", 0, false},
		{"20.5.0", "USD", 0, false},
		{"1,25.00", "USD", 0, false},
		{"-5", "USD", 0, false},
		{"+5", "USD", 0, false},
		{"5e3", "USD", 0, false},
		{"", "USD", 0, false},
		{"NaN", "USD", 0, false},
		{"50", "JPY", 50, true},
		{"50.5", "JPY", 0, false},
		{"¥5,000", "JPY", 5000, true},
		{"1.234", "KWD", 1234, true},
		{"1.2345", "KWD", 0, false},
		{"99999999999999999999", "USD", 0, false},
	}
	for _, tt := range tests {
		m, err := parseAmount(tt.in, tt.currency)
		if tt.ok != (err == nil) || (tt.ok && m.Amount != tt.want) {
			t.Errorf("parseAmount(%q, %s) = %v, %v; want %d ok=%v", tt.in, tt.currency, m, err, tt.want, tt.ok)
		}
		if err != nil && stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("parseAmount(%q) error code %s, want EINVALID", tt.in, stripesync.CodeOf(err))
		}
	}
}

// FuzzParseAmount: whatever is typed, the parser either refuses it with
// EINVALID or returns a non-negative amount in the currency whose decimal
// form parses back to itself.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"20.00", "$1,250.50", "0.49", "¥5,000", "1.234", "-1", "1e9", "9999999999999999999"} {
		f.Add(s, "USD")
		f.Add(s, "JPY")
		f.Add(s, "KWD")
	}
	f.Fuzz(func(t *testing.T, s, currency string) {
		if _, err := stripesync.NormalizeCurrency(currency); err != nil {
			return
		}
		m, err := parseAmount(s, currency)
		if err != nil {
			if stripesync.CodeOf(err) != stripesync.EINVALID {
				t.Fatalf("parseAmount(%q, %q): code %s", s, currency, stripesync.CodeOf(err))
			}
			return
		}
		if m.Amount < 0 {
			t.Fatalf("parseAmount(%q) = %v: negative", s, m)
		}
		back, err := parseAmount(m.Decimal(), m.Currency)
		if err != nil || back != m {
			t.Fatalf("round trip of %v: %v, %v", m, back, err)
		}
	})
}
