package stripesync

import (
	"math"
	"testing"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
	}{
		{"50.00", "USD", 5000},
		{"50", "usd", 5000},
		{"0.1", "USD", 10},
		{"-0.25", "USD", -25},
		{"+7.5", "EUR", 750},
		{"419.0", "JPY", 419}, // the CRM's number form carries a zero fraction
		{"5000", "JPY", 5000},
		{"1.234", "KWD", 1234},
		{"1.23", "KWD", 1230},
		{".5", "USD", 50},
		{"12.", "USD", 1200},
		{"00012.30", "USD", 1230},
		{"92233720368547758.07", "USD", math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in, tt.cur)
		if err != nil {
			t.Errorf("ParseMoney(%q, %q) error: %v", tt.in, tt.cur, err)
			continue
		}
		if got.Amount != tt.want {
			t.Errorf("ParseMoney(%q, %q) = %d, want %d", tt.in, tt.cur, got.Amount, tt.want)
		}
	}
}

func TestParseMoneyRejects(t *testing.T) {
	for _, tt := range []struct{ in, cur string }{
		{"", "USD"}, {".", "USD"}, {"-", "USD"}, {"1.234", "USD"}, {"1.5", "JPY"},
		{"1e3", "USD"}, {"1,000.00", "USD"}, {"12.3.4", "USD"}, {"NaN", "USD"},
		{"92233720368547758.08", "USD"}, {"10", "US"}, {"10", "U$D"}, {" 1 0", "USD"},
	} {
		_, err := ParseMoney(tt.in, tt.cur)
		if CodeOf(err) != EINVALID {
			t.Errorf("ParseMoney(%q, %q) error = %v, want an EINVALID error", tt.in, tt.cur, err)
		}
	}
}

func TestMoneyDecimalRoundTrip(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{Money{5000, "USD"}, "50.00"},
		{Money{5, "USD"}, "0.05"},
		{Money{-5, "USD"}, "-0.05"},
		{Money{0, "USD"}, "0.00"},
		{Money{5000, "JPY"}, "5000"},
		{Money{1230, "KWD"}, "1.230"},
		{Money{math.MinInt64, "USD"}, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.m.Decimal(); got != tt.want {
			t.Errorf("%#v.Decimal() = %q, want %q", tt.m, got, tt.want)
		}
		if tt.m.Amount == math.MinInt64 {
			continue // its magnitude does not fit int64, so it cannot be parsed back
		}
		back, err := ParseMoney(tt.m.Decimal(), tt.m.Currency)
		if err != nil || back != tt.m {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v", tt.m.Decimal(), back, err, tt.m)
		}
	}
}

func TestCurrencyTables(t *testing.T) {
	if got := CurrencyExponent("jpy"); got != 0 {
		t.Errorf("CurrencyExponent(jpy) = %d, want 0", got)
	}
	if got := CurrencyExponent("KWD"); got != 3 {
		t.Errorf("CurrencyExponent(KWD) = %d, want 3", got)
	}
	if got := CurrencyExponent("USD"); got != 2 {
		t.Errorf("CurrencyExponent(USD) = %d, want 2", got)
	}
	if m, ok := MinimumCharge("gbp"); !ok || m.Amount != 30 || m.Currency != "GBP" {
		t.Errorf("MinimumCharge(gbp) = %v, %v; want 30 GBP", m, ok)
	}
	if _, ok := MinimumCharge("XYZ"); ok {
		t.Error("MinimumCharge(XYZ) reported a minimum for an unknown currency")
	}
}

func TestValidateCharge(t *testing.T) {
	ok := []Money{{50, "USD"}, {50, "JPY"}, {1230, "KWD"}, {99999999, "USD"}, {100, "ISK"}}
	for _, m := range ok {
		if err := m.ValidateCharge(); err != nil {
			t.Errorf("%v.ValidateCharge() = %v, want nil", m, err)
		}
	}
	bad := []Money{{0, "USD"}, {-5, "USD"}, {49, "USD"}, {29, "GBP"}, {1234, "KWD"}, {100000000, "USD"}, {399, "HKD"}}
	for _, m := range bad {
		if err := m.ValidateCharge(); CodeOf(err) != EINVALID {
			t.Errorf("%v.ValidateCharge() = %v, want EINVALID", m, err)
		}
	}
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"50.00", "-1", "0.001", "1e9", "", "9999999999999999999"} {
		f.Add(s, "USD")
		f.Add(s, "JPY")
		f.Add(s, "KWD")
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		m, err := ParseMoney(s, cur)
		if err != nil {
			return
		}
		// Whatever parses must format and parse back to the same value.
		back, err := ParseMoney(m.Decimal(), m.Currency)
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q,%q)=%v; round trip via %q gave %v, %v", s, cur, m, m.Decimal(), back, err)
		}
	})
}
