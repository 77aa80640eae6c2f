package stripesync

import (
	"strings"
	"testing"
)

func TestBankAccountDetailsValidate(t *testing.T) {
	good := BankAccountDetails{RoutingNumber: "110000000", AccountNumber: "000123456789", HolderType: HolderIndividual, HolderName: "Jane Doe"}
	tests := []struct {
		name   string
		change func(d *BankAccountDetails)
		want   string // a word of the message; "" means valid
	}{
		{"valid", func(*BankAccountDetails) {}, ""},
		{"valid company, real bank", func(d *BankAccountDetails) {
			d.RoutingNumber, d.HolderType, d.AccountNumber = "021000021", HolderCompany, "1234"
		}, ""},
		{"17 digits", func(d *BankAccountDetails) { d.AccountNumber = "12345678901234567" }, ""},
		{"no routing number", func(d *BankAccountDetails) { d.RoutingNumber = "" }, "routing number is missing"},
		{"8-digit routing number", func(d *BankAccountDetails) { d.RoutingNumber = "11000000" }, "exactly 9 digits"},
		{"letters in routing number", func(d *BankAccountDetails) { d.RoutingNumber = "11000000O" }, "exactly 9 digits"},
		{"bad checksum", func(d *BankAccountDetails) { d.RoutingNumber = "110000001" }, "not a valid US bank routing number"},
		{"no account number", func(d *BankAccountDetails) { d.AccountNumber = "" }, "account number is missing"},
		{"3 digits", func(d *BankAccountDetails) { d.AccountNumber = "123" }, "4 to 17 digits"},
		{"18 digits", func(d *BankAccountDetails) { d.AccountNumber = "123456789012345678" }, "ending ••••5678 must be 4 to 17 digits long, not 18"},
		{"dashes", func(d *BankAccountDetails) { d.AccountNumber = "0001-2345-6789" }, "digits only"},
		{"holder type", func(d *BankAccountDetails) { d.HolderType = "Individual" }, `"individual" or "company"`},
		{"no name", func(d *BankAccountDetails) { d.HolderName = "  " }, "holder's name is missing"},
	}
	for _, tt := range tests {
		d := good
		tt.change(&d)
		err := d.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate(%+v) = %v, want nil", tt.name, d, err)
		case tt.want == "":
		case CodeOf(err) != EINVALID || !strings.Contains(MessageOf(err), tt.want):
			t.Errorf("%s: Validate() = %v (%s), want EINVALID saying %q", tt.name, err, CodeOf(err), tt.want)
		case len(d.AccountNumber) > 4 && strings.Contains(err.Error(), d.AccountNumber):
			t.Errorf("%s: the error shows the whole account number: %v", tt.name, err)
		}
	}
}

func TestMicrodepositVerificationValidate(t *testing.T) {
	tests := []struct {
		v    MicrodepositVerification
		want string // a word of the message; "" means valid
	}{
		{MicrodepositVerification{Amounts: []int64{32, 45}}, ""},
		{MicrodepositVerification{Amounts: []int64{1, 99}}, ""},
		{MicrodepositVerification{DescriptorCode: "SM11AA"}, ""},
		{MicrodepositVerification{}, "both micro-deposit amounts"},
		{MicrodepositVerification{Amounts: []int64{32}}, "exactly two"},
		{MicrodepositVerification{Amounts: []int64{32, 45, 1}}, "exactly two"},
		{MicrodepositVerification{Amounts: []int64{0, 45}}, "0 is not"},
		{MicrodepositVerification{Amounts: []int64{32, 100}}, "100 is not"},
		{MicrodepositVerification{Amounts: []int64{-5, 45}}, "-5 is not"},
		{MicrodepositVerification{Amounts: []int64{32, 45}, DescriptorCode: "SM11AA"}, "not both"},
		{MicrodepositVerification{DescriptorCode: "SM11A"}, "SM followed by 4"},
		{MicrodepositVerification{DescriptorCode: "XX11AA"}, "SM followed by 4"},
		{MicrodepositVerification{DescriptorCode: "SM11A-"}, "SM followed by 4"},
	}
	for _, tt := range tests {
		err := tt.v.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tt.v, err)
		case tt.want != "" && (CodeOf(err) != EINVALID || !strings.Contains(MessageOf(err), tt.want)):
			t.Errorf("Validate(%+v) = %v, want EINVALID saying %q", tt.v, err, tt.want)
		}
	}
}
