package crmtest

import (
	"testing"
	"time"
)

func TestParseSOQL(t *testing.T) {
	tests := []struct {
		soql     string
		wantCode string // "" = parses
	}{
		{"SELECT Id FROM Account", ""},
		{"select id, name from account where name = 'O\\'Brien' order by name desc nulls first limit 5", ""},
		{"SELECT Id FROM Account WHERE SystemModstamp >= 2024-05-01T12:34:56Z", ""},
		{"SELECT Id FROM Account WHERE SystemModstamp >= 2024-05-01T12:34:56.123Z", ""},
		{"SELECT Id FROM Account WHERE SystemModstamp < 2024-05-01T12:34:56-05:00", ""},
		{"SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND Phone != null", ""},
		{"SELECT Id FROM Account WHERE NOT Name LIKE 'Ac%'", ""},
		{"SELECT Id FROM Account WHERE Name NOT IN ('a', 'b')", ""},
		{"SELECT Id FROM Account WHERE Name <> 'a'", ""},
		{"SELECT Id FROM Invoice__c WHERE Amount__c > -10.5 AND Due_Date__c = 2024-01-31", ""},
		{"SELECT Id FROM Invoice__c WHERE Auto_Pay__c = true", ""},
		{"", "MALFORMED_QUERY"},
		{"SELECT FROM Account", "MALFORMED_QUERY"},
		{"SELECT Id Account", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' OR Id = 'c'", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE Name IN ('a' 'b')", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE SystemModstamp >= 2024-05-01T12:34:56", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account ORDER BY", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account extra", "MALFORMED_QUERY"},
	}
	for _, tt := range tests {
		_, err := parseSOQL(tt.soql)
		got := ""
		if err != nil {
			got = err.code
		}
		if got != tt.wantCode {
			t.Errorf("parseSOQL(%q) error = %v, want code %q", tt.soql, err, tt.wantCode)
		}
	}
}

func TestParseSOQLLiterals(t *testing.T) {
	q, err := parseSOQL(`SELECT Id FROM Account WHERE SystemModstamp >= 2024-05-01T14:34:56.5+02:00 AND Name = 'a\'b\\c'`)
	if err != nil {
		t.Fatal(err)
	}
	l := q.where.(*logic)
	ts := l.kids[0].(*cond).vals[0]
	want := time.Date(2024, 5, 1, 12, 34, 56, 500e6, time.UTC)
	if ts.kind != litDateTime || !ts.val.(time.Time).Equal(want) {
		t.Errorf("dateTime literal = %v %v, want %v", ts.kind, ts.val, want)
	}
	if s := l.kids[1].(*cond).vals[0].val; s != `a'b\c` {
		t.Errorf("string literal = %q, want %q", s, `a'b\c`)
	}
}

func TestCompileTypeChecks(t *testing.T) {
	acc := newTable(builtinObjects()[0])
	tests := []struct {
		soql     string
		wantCode string
	}{
		{"SELECT Id, Nope__c FROM Account", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE Nope__c = 'x'", "INVALID_FIELD"},
		{"SELECT Id FROM Account ORDER BY Nope__c", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE SystemModstamp >= '2024-05-01T12:34:56Z'", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE SystemModstamp >= 2024-05-01", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE IsDeleted = 'true'", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE IsDeleted LIKE 'x'", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE Name > null", "MALFORMED_QUERY"},
		{"SELECT Id FROM Account WHERE IsDeleted = false AND Name LIKE 'A%'", ""},
	}
	for _, tt := range tests {
		q, perr := parseSOQL(tt.soql)
		if perr != nil {
			t.Fatalf("parseSOQL(%q): %v", tt.soql, perr)
		}
		_, err := compile(q, acc)
		got := ""
		if err != nil {
			got = err.code
		}
		if got != tt.wantCode {
			t.Errorf("compile(%q) error = %v, want code %q", tt.soql, err, tt.wantCode)
		}
	}
}

func TestPlanRun(t *testing.T) {
	s := New(Options{Clock: func() time.Time { return time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC) }})
	for _, f := range []map[string]any{
		{"Name": "Acme", "Amount__c": "100.50", "Due_Date__c": "2024-06-01", "Auto_Pay__c": true},
		{"Name": "beta", "Amount__c": "99.9", "Due_Date__c": "2024-05-01"},
		{"Name": "Cobalt", "Due_Date__c": "2024-07-01"},
		{"Name": "acme 2", "Amount__c": "-3", "Status__c": "Open"},
	} {
		s.Insert("Invoice__c", f)
	}
	names := func(soql string) []string {
		t.Helper()
		q, err := parseSOQL(soql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := compile(q, s.tables["invoice__c"])
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range p.run(false) {
			out = append(out, r.vals[idxName].(string))
		}
		return out
	}
	tests := []struct {
		soql string
		want []string
	}{
		{"SELECT Name FROM Invoice__c WHERE Amount__c > 99.95", []string{"Acme"}},
		{"SELECT Name FROM Invoice__c WHERE Amount__c >= -3 ORDER BY Amount__c", []string{"acme 2", "beta", "Acme"}},
		{"SELECT Name FROM Invoice__c ORDER BY Amount__c DESC", []string{"Acme", "beta", "acme 2", "Cobalt"}},
		{"SELECT Name FROM Invoice__c ORDER BY Amount__c ASC", []string{"Cobalt", "acme 2", "beta", "Acme"}},
		{"SELECT Name FROM Invoice__c ORDER BY Amount__c ASC NULLS LAST", []string{"acme 2", "beta", "Acme", "Cobalt"}},
		{"SELECT Name FROM Invoice__c WHERE Name = 'ACME'", []string{"Acme"}},
		{"SELECT Name FROM Invoice__c WHERE Name LIKE 'acme%' ORDER BY Name", []string{"Acme", "acme 2"}},
		{"SELECT Name FROM Invoice__c WHERE Status__c != 'Open' ORDER BY Name", []string{"Acme", "beta", "Cobalt"}},
		{"SELECT Name FROM Invoice__c WHERE Amount__c = null", []string{"Cobalt"}},
		{"SELECT Name FROM Invoice__c WHERE Due_Date__c < 2024-06-15 AND Auto_Pay__c = false", []string{"beta"}},
		{"SELECT Name FROM Invoice__c WHERE Name IN ('beta', 'cobalt') OR (Auto_Pay__c = true)", []string{"Acme", "beta", "Cobalt"}},
		{"SELECT Name FROM Invoice__c WHERE NOT (Name IN ('beta'))", []string{"Acme", "Cobalt", "acme 2"}},
		{"SELECT Name FROM Invoice__c ORDER BY Name DESC LIMIT 2", []string{"Cobalt", "beta"}},
	}
	for _, tt := range tests {
		got := names(tt.soql)
		if len(got) != len(tt.want) {
			t.Errorf("%s = %q, want %q", tt.soql, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s = %q, want %q", tt.soql, got, tt.want)
				break
			}
		}
	}
}
