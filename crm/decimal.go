package crm

import (
	"strconv"
	"strings"

	"github.com/stripesync/stripesync"
)

// maxExponent bounds the exponent plainDecimal expands, so a hostile
// "1E999999999" cannot make it build a gigabyte of zeros. Any amount that
// fits in int64 minor units needs far less.
const maxExponent = 40

// plainDecimal rewrites a JSON number as a plain decimal without an
// exponent, exactly, by moving the decimal point in the text: Salesforce
// renders large numbers in scientific notation ("1.2345E7"), which
// stripesync.ParseMoney refuses. Plain decimals pass through unchanged.
func plainDecimal(s string) (string, bool) {
	mant, expText, hasExp := strings.Cut(strings.ToUpper(s), "E")
	if !hasExp {
		return s, true
	}
	exp, err := strconv.Atoi(expText)
	if err != nil || exp > maxExponent || exp < -maxExponent {
		return "", false
	}
	sign := ""
	if strings.HasPrefix(mant, "-") || strings.HasPrefix(mant, "+") {
		sign, mant = mant[:1], mant[1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || !allDigits(digits) {
		return "", false
	}
	point := len(intPart) + exp // position of the decimal point in digits
	switch {
	case point <= 0:
		digits = strings.Repeat("0", 1-point) + digits
		point = 1
	case point > len(digits):
		digits += strings.Repeat("0", point-len(digits))
	}
	out := digits[:point]
	if point < len(digits) {
		out += "." + digits[point:]
	}
	return sign + out, true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// moneyField reads a currency field of r exactly in currency: null or
// absent is zero; a value in scientific notation is expanded first.
func moneyField(r Record, field, currency string) (stripesync.Money, error) {
	s := r.String(field)
	if s == "" {
		s = "0"
	}
	plain, ok := plainDecimal(s)
	if !ok {
		return stripesync.Money{}, stripesync.Errorf(stripesync.EINVALID, "salesforce field %s: %q is not a number", field, s)
	}
	return stripesync.ParseMoney(plain, currency)
}
