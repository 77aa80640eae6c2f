package stripesync

import (
	"fmt"
	"math"
	"strings"
)

// Money is an exact amount: an integer count of the currency's minor unit
// (cents for USD, yen for JPY, fils for KWD) and an upper-case ISO 4217 code.
// There is deliberately no float anywhere on a money path.
type Money struct {
	Amount   int64  // minor units
	Currency string // upper-case ISO 4217, e.g. "USD"
}

// zeroDecimal and threeDecimal list the currencies whose minor unit is not
// one hundredth, as Stripe defines them (https://docs.stripe.com/currencies).
var (
	zeroDecimal = map[string]bool{
		"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true,
		"KRW": true, "MGA": true, "PYG": true, "RWF": true, "UGX": true, "VND": true,
		"VUV": true, "XAF": true, "XOF": true, "XPF": true,
	}
	threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}
)

// minimumCharge is Stripe's smallest chargeable amount per currency, in
// minor units (https://stripe.com/docs/currencies#minimum-and-maximum-charge-amounts).
var minimumCharge = map[string]int64{
	"USD": 50, "EUR": 50, "GBP": 30, "AUD": 50, "CAD": 50, "CHF": 50, "BRL": 50,
	"INR": 50, "NZD": 50, "SGD": 50, "HKD": 400, "JPY": 50, "MXN": 1000, "AED": 200,
	"BGN": 100, "CZK": 1500, "DKK": 250, "HUF": 17500, "MYR": 200, "NOK": 300,
	"PLN": 200, "RON": 200, "SEK": 300, "THB": 1000,
}

// NormalizeCurrency returns code as an upper-case ISO 4217 code, or an
// EINVALID error when it is not three ASCII letters.
func NormalizeCurrency(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) != 3 {
		return "", Errorf(EINVALID, "currency %q is not a three-letter ISO code", code)
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return "", Errorf(EINVALID, "currency %q is not a three-letter ISO code", code)
		}
	}
	return c, nil
}

// CurrencyExponent is the number of decimal places of currency's minor unit
// as Stripe counts them: 0 for zero-decimal currencies, 3 for three-decimal
// ones, 2 for the rest.
func CurrencyExponent(currency string) int {
	c := strings.ToUpper(currency)
	switch {
	case zeroDecimal[c]:
		return 0
	case threeDecimal[c]:
		return 3
	}
	return 2
}

// MinimumCharge returns Stripe's minimum charge for currency in minor units,
// and false when Stripe publishes none for it (the settlement-currency check
// then applies on Stripe's side).
func MinimumCharge(currency string) (Money, bool) {
	c := strings.ToUpper(currency)
	min, ok := minimumCharge[c]
	return Money{Amount: min, Currency: c}, ok
}

// ParseMoney parses a decimal string such as "1234.5", "-0.25" or "5000" in
// currency exactly. It refuses more fractional digits than the currency has
// (unless the extra digits are zeros, as in the CRM's "419.0" for JPY),
// exponents, thousands separators and values beyond int64.
func ParseMoney(s, currency string) (Money, error) {
	cur, err := NormalizeCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	exp := CurrencyExponent(cur)
	str := strings.TrimSpace(s)
	bad := func(why string) (Money, error) {
		return Money{}, Errorf(EINVALID, "amount %q is not a valid %s amount: %s", s, cur, why)
	}
	neg := false
	switch {
	case strings.HasPrefix(str, "-"):
		neg, str = true, str[1:]
	case strings.HasPrefix(str, "+"):
		str = str[1:]
	}
	intPart, frac, hasDot := strings.Cut(str, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return bad("no digits")
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return bad("only digits and one decimal point are allowed")
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		return bad(fmt.Sprintf("more than %d decimal places", exp))
	}
	frac += strings.Repeat("0", exp-len(frac))
	var amount int64
	for _, r := range strings.TrimLeft(intPart, "0") + frac {
		d := int64(r - '0')
		if amount > (math.MaxInt64-d)/10 {
			return bad("too large")
		}
		amount = amount*10 + d
	}
	if neg {
		amount = -amount
	}
	return Money{Amount: amount, Currency: cur}, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Decimal formats m as a plain decimal with exactly the currency's number of
// fractional digits ("50.00", "5000", "1.230"), the form the CRM accepts.
func (m Money) Decimal() string {
	exp := CurrencyExponent(m.Currency)
	sign := ""
	a := m.Amount
	if a < 0 {
		sign = "-"
	}
	// Work on the magnitude as unsigned so that MinInt64 formats correctly.
	u := uint64(a)
	if a < 0 {
		u = uint64(-(a + 1)) + 1
	}
	digits := fmt.Sprintf("%0*d", exp+1, u)
	if exp == 0 {
		return sign + digits
	}
	return sign + digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}

// String formats m for people: "50.00 USD".
func (m Money) String() string { return m.Decimal() + " " + m.Currency }

// StripeCurrency is the currency code as Stripe's API wants it (lower case).
func (m Money) StripeCurrency() string { return strings.ToLower(m.Currency) }

// ValidateCharge reports whether Stripe would accept m as a charge amount:
// positive, at least the currency's minimum, at most eight digits, and for
// three-decimal currencies a multiple of ten minor units.
func (m Money) ValidateCharge() error {
	if m.Amount <= 0 {
		return Errorf(EINVALID, "amount %s must be positive", m)
	}
	if min, ok := MinimumCharge(m.Currency); ok && m.Amount < min.Amount {
		return Errorf(EINVALID, "amount %s is below Stripe's minimum charge of %s", m, min)
	}
	if m.Amount > 99999999 {
		return Errorf(EINVALID, "amount %s exceeds Stripe's maximum of eight digits", m)
	}
	if CurrencyExponent(m.Currency) == 3 && m.Amount%10 != 0 {
		return Errorf(EINVALID, "amount %s: Stripe requires three-decimal amounts to end in 0", m)
	}
	return nil
}
