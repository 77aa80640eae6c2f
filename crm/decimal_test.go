package crm

import (
	"encoding/json"
	"testing"

	"github.com/stripesync/stripesync"
)

func TestPlainDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"1250.75", "1250.75", true},
		{"5000", "5000", true},
		{"1.2345E7", "12345000", true},
		{"1.23456789012345678E17", "123456789012345678", true},
		{"-2.5e+3", "-2500", true},
		{"+1E2", "+100", true},
		{"1E-2", "0.01", true},
		{"123E-5", "0.00123", true},
		{".5E1", "5", true},
		{"5.E-1", "0.5", true},
		{"0E0", "0", true},
		{"1E40", "1" + "0000000000000000000000000000000000000000", true},
		{"1E41", "", false},
		{"1E-999999999999", "", false},
		{"E5", "", false},
		{"1.2.3E1", "", false},
		{"1E", "", false},
		{"0x1E2", "", false},
	}
	for _, tt := range tests {
		got, ok := plainDecimal(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("plainDecimal(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMoneyField(t *testing.T) {
	tests := []struct {
		value    any
		currency string
		want     stripesync.Money
		wantErr  bool
	}{
		{json.Number("1250.75"), "USD", stripesync.Money{Amount: 125075, Currency: "USD"}, false},
		{json.Number("1.0E7"), "JPY", stripesync.Money{Amount: 10000000, Currency: "JPY"}, false},
		{json.Number("12.345"), "KWD", stripesync.Money{Amount: 12345, Currency: "KWD"}, false},
		// 2^53+1 cents: a float64 would round it.
		{json.Number("90071992547409.93"), "USD", stripesync.Money{Amount: 9007199254740993, Currency: "USD"}, false},
		{nil, "EUR", stripesync.Money{Amount: 0, Currency: "EUR"}, false},
		{json.Number("100.5"), "JPY", stripesync.Money{}, true},
		{json.Number("1"), "", stripesync.Money{}, true},
		{"n/a", "USD", stripesync.Money{}, true},
	}
	for _, tt := range tests {
		got, err := moneyField(Record{"Amount__c": tt.value}, "Amount__c", tt.currency)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("moneyField(%v, %q) = %v, %v, want %v, error %v", tt.value, tt.currency, got, err, tt.want, tt.wantErr)
		}
	}
}
