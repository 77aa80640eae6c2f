package crmtest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// plan is a parsed query resolved against one table: which columns to
// render, which rows match and in what order.
type plan struct {
	t      *table
	fields []int
	match  func(*record) bool // nil matches every row
	order  func(a, b *record) int
	limit  int // -1 for none
}

func compile(q *query, t *table) (*plan, *apiError) {
	p := &plan{t: t, limit: q.limit}
	for _, name := range q.fields {
		i, ok := t.schema.lookup(name)
		if !ok {
			return nil, noSuchColumn(t.schema.name, name)
		}
		p.fields = append(p.fields, i)
	}
	if q.where != nil {
		m, err := compileExpr(q.where, t.schema)
		if err != nil {
			return nil, err
		}
		p.match = m
	}
	if len(q.orderBy) > 0 {
		o, err := compileOrder(q.orderBy, t.schema)
		if err != nil {
			return nil, err
		}
		p.order = o
	}
	return p, nil
}

// run returns the matching rows in order, live ones only unless all is set
// (queryAll).
func (p *plan) run(all bool) []*record {
	var rows []*record
	for _, r := range p.t.rows {
		if (all || !r.deleted()) && (p.match == nil || p.match(r)) {
			rows = append(rows, r)
		}
	}
	if p.order != nil {
		slices.SortStableFunc(rows, p.order)
	}
	if p.limit >= 0 && len(rows) > p.limit {
		rows = rows[:p.limit]
	}
	return rows
}

func compileExpr(e expr, s *schema) (func(*record) bool, *apiError) {
	switch e := e.(type) {
	case *logic:
		kids := make([]func(*record) bool, len(e.kids))
		for i, k := range e.kids {
			f, err := compileExpr(k, s)
			if err != nil {
				return nil, err
			}
			kids[i] = f
		}
		if e.and {
			return func(r *record) bool {
				for _, k := range kids {
					if !k(r) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(r *record) bool {
			for _, k := range kids {
				if k(r) {
					return true
				}
			}
			return false
		}, nil
	case *not:
		f, err := compileExpr(e.kid, s)
		if err != nil {
			return nil, err
		}
		return func(r *record) bool { return !f(r) }, nil
	case *cond:
		return compileCond(e, s)
	}
	return nil, malformed("unsupported condition")
}

// literalFits says which literal kind each field type takes; null fits all.
var literalFits = map[FieldType]litKind{
	FieldText: litString, FieldID: litString, FieldDecimal: litNumber,
	FieldBool: litBool, FieldDate: litDate, FieldDateTime: litDateTime,
}

func compileCond(c *cond, s *schema) (func(*record) bool, *apiError) {
	idx, ok := s.lookup(c.field)
	if !ok {
		return nil, noSuchColumn(s.name, c.field)
	}
	f := s.fields[idx]
	for i, v := range c.vals {
		if v.kind == litNull {
			if c.op != "=" && c.op != "!=" && c.op != "IN" && c.op != "NOT IN" {
				return nil, malformed("null can only be compared with = or !=")
			}
			continue
		}
		if literalFits[f.typ] != v.kind {
			quoted := "should not be enclosed in quotes"
			if f.typ == FieldText || f.typ == FieldID {
				quoted = "should be enclosed in quotes"
			}
			return nil, &apiError{status: 400, code: "INVALID_FIELD", fields: []string{f.name}, message: fmt.Sprintf(
				"value of filter criterion for field '%s' must be of type %s and %s", f.name, f.typ, quoted)}
		}
		// Salesforce accepts an id in its case-sensitive 15-character form
		// too; rows hold the 18-character form.
		if id, ok := v.val.(string); ok && f.typ == FieldID && len(id) == 15 && wellFormedID(id) {
			c.vals[i].val = id + idSuffix(id)
		}
	}
	equal := func(have any, want literal) bool {
		if have == nil || want.val == nil {
			return have == nil && want.val == nil
		}
		return compareValues(f.typ, have, want.val) == 0
	}
	switch c.op {
	case "=":
		return func(r *record) bool { return equal(r.vals[idx], c.vals[0]) }, nil
	case "!=":
		return func(r *record) bool { return !equal(r.vals[idx], c.vals[0]) }, nil
	case "IN", "NOT IN":
		in := c.op == "IN"
		return func(r *record) bool {
			for _, v := range c.vals {
				if equal(r.vals[idx], v) {
					return in
				}
			}
			return !in
		}, nil
	case "LIKE":
		if f.typ != FieldText && f.typ != FieldID {
			return nil, &apiError{status: 400, code: "INVALID_FIELD", fields: []string{f.name},
				message: fmt.Sprintf("invalid operator on field '%s': LIKE needs a text field", f.name)}
		}
		re := likePattern(c.vals[0].val.(string))
		return func(r *record) bool {
			v, ok := r.vals[idx].(string)
			return ok && re.MatchString(v)
		}, nil
	}
	// Relational operators: null never matches.
	want := c.vals[0].val
	test := map[string]func(int) bool{
		"<": func(c int) bool { return c < 0 }, "<=": func(c int) bool { return c <= 0 },
		">": func(c int) bool { return c > 0 }, ">=": func(c int) bool { return c >= 0 },
	}[c.op]
	if test == nil {
		return nil, malformed("unexpected operator %q", c.op)
	}
	return func(r *record) bool {
		have := r.vals[idx]
		return have != nil && test(compareValues(f.typ, have, want))
	}, nil
}

// likePattern turns a SOQL LIKE pattern (% any run, _ one character) into a
// case-insensitive regular expression.
func likePattern(p string) *regexp.Regexp {
	var sb strings.Builder
	sb.WriteString("(?is)^")
	for _, r := range p {
		switch r {
		case '%':
			sb.WriteString(".*")
		case '_':
			sb.WriteString(".")
		default:
			sb.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	sb.WriteString("$")
	return regexp.MustCompile(sb.String())
}

func compileOrder(terms []orderTerm, s *schema) (func(a, b *record) int, *apiError) {
	type key struct {
		idx       int
		typ       FieldType
		desc      bool
		nullsLast bool
	}
	keys := make([]key, len(terms))
	for i, t := range terms {
		idx, ok := s.lookup(t.field)
		if !ok {
			return nil, noSuchColumn(s.name, t.field)
		}
		keys[i] = key{idx, s.fields[idx].typ, t.desc, t.nullsLast}
	}
	return func(a, b *record) int {
		for _, k := range keys {
			av, bv := a.vals[k.idx], b.vals[k.idx]
			var c int
			switch {
			case av == nil && bv == nil:
				continue
			case av == nil || bv == nil:
				// Null placement is independent of the sort direction.
				c = -1
				if av != nil {
					c = 1
				}
				if k.nullsLast {
					c = -c
				}
				return c
			}
			c = compareValues(k.typ, av, bv)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}, nil
}
