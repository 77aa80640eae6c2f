package stripetest

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	spec := map[string]param{
		"name":     {},
		"balance":  {kind: kInt},
		"confirm":  {kind: kBool},
		"metadata": {kind: kMap},
		"address":  {kind: kObject, children: map[string]param{"line1": {}, "city": {}}},
		"types":    {kind: kList},
		"created":  {kind: kRange},
	}
	tests := []struct {
		name      string
		in        string
		want      form
		wantCode  string
		wantParam string
	}{
		{name: "scalars", in: "name=Acme&balance=-100&confirm=true",
			want: form{"name": "Acme", "balance": "-100", "confirm": "true"}},
		{name: "nested object", in: "address[line1]=1+Main&address[city]=X",
			want: form{"address": form{"line1": "1 Main", "city": "X"}}},
		{name: "map", in: "metadata[crm_account_id]=001&metadata[gone]=",
			want: form{"metadata": form{"crm_account_id": "001", "gone": ""}}},
		{name: "empty map unsets", in: "metadata=", want: form{"metadata": ""}},
		{name: "indexed list sorted by index", in: "types[10]=k&types[1]=b&types[0]=a",
			want: form{"types": []string{"a", "b", "k"}}},
		{name: "bracket list keeps order", in: "types[]=card&types[]=us_bank_account",
			want: form{"types": []string{"card", "us_bank_account"}}},
		{name: "range as integer", in: "created=1700000000", want: form{"created": "1700000000"}},
		{name: "range as object", in: "created[gte]=1&created[lt]=9",
			want: form{"created": form{"gte": "1", "lt": "9"}}},
		{name: "unknown top level", in: "foo=bar", wantCode: "parameter_unknown", wantParam: "foo"},
		{name: "unknown nested", in: "address[foo]=bar", wantCode: "parameter_unknown", wantParam: "address[foo]"},
		{name: "scalar with brackets", in: "name[x]=y", wantCode: "parameter_unknown", wantParam: "name[x]"},
		{name: "bad range op", in: "created[eq]=1", wantCode: "parameter_unknown", wantParam: "created[eq]"},
		{name: "bad integer", in: "balance=ten", wantCode: "parameter_invalid_integer", wantParam: "balance"},
		{name: "malformed key", in: "address[line1=x", wantCode: "parameter_unknown", wantParam: "address[line1"},
		{name: "not emulated", in: "coupon=X", wantCode: "emulator_unsupported", wantParam: "coupon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, err := url.ParseQuery(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, aerr := decode(values, spec, []string{"coupon"})
			if tt.wantCode != "" {
				if aerr == nil || aerr.Code != tt.wantCode || aerr.Param != tt.wantParam {
					t.Fatalf("decode(%q) error = %+v, want code %s param %s", tt.in, aerr, tt.wantCode, tt.wantParam)
				}
				return
			}
			if aerr != nil {
				t.Fatalf("decode(%q): %+v", tt.in, aerr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
