package crmtest

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// A criteria formula decides, like a workflow rule's, whether a save fires
// an Outbound Message. The emulator evaluates the subset of the Salesforce
// formula language that change-detecting rules are written in, so that a
// test can run the very formula the repository ships:
//
//	TRUE, FALSE, AND(…), OR(…), NOT(x), ISNEW(), ISCHANGED(Field),
//	ISPICKVAL(Field, "text"), ISPICKVAL(PRIORVALUE(Field), "text")
//
// Names of functions are case-insensitive, as in Salesforce. As there,
// ISCHANGED is false on a new record, and a blank text field and null are
// the same value.

// criteria evaluates a compiled formula against a save: old holds the
// values before it, nil for an insert.
type criteria func(old []any, r *record) bool

// operand is a compiled field reference or PRIORVALUE, for ISPICKVAL.
type operand func(old []any, r *record) any

// compileCriteria parses formula against sc; "" means TRUE.
func compileCriteria(sc *schema, formula string) (criteria, error) {
	if strings.TrimSpace(formula) == "" {
		return func([]any, *record) bool { return true }, nil
	}
	p := &formulaParser{sc: sc, src: formula}
	c, err := p.boolean()
	if err == nil && p.next() != "" {
		err = p.errorf("unexpected %q after the formula", p.tok)
	}
	if err != nil {
		return nil, fmt.Errorf("crmtest: criteria of %s: %w", sc.name, err)
	}
	return c, nil
}

type formulaParser struct {
	sc  *schema
	src string
	pos int
	tok string // the last token next returned
}

func (p *formulaParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: "+format, append([]any{p.pos}, args...)...)
}

// next returns the next token: a name, a quoted string (quotes kept), a
// single punctuation character, or "" at the end.
func (p *formulaParser) next() string {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	start := p.pos
	switch {
	case p.pos == len(p.src):
	case p.src[p.pos] == '"':
		end := strings.IndexByte(p.src[p.pos+1:], '"')
		if end < 0 {
			p.pos = len(p.src)
		} else {
			p.pos += end + 2
		}
	case isNameByte(p.src[p.pos]):
		for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
			p.pos++
		}
	default:
		p.pos++
	}
	p.tok = p.src[start:p.pos]
	return p.tok
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}

func (p *formulaParser) expect(want string) error {
	if p.next() != want {
		return p.errorf("got %q, want %q", p.tok, want)
	}
	return nil
}

// args parses "(" a, b, … ")" with parse for each argument.
func (p *formulaParser) args(parse func() error) error {
	if err := p.expect("("); err != nil {
		return err
	}
	for {
		if err := parse(); err != nil {
			return err
		}
		switch p.next() {
		case ")":
			return nil
		case ",":
		default:
			return p.errorf("got %q, want \",\" or \")\"", p.tok)
		}
	}
}

// field parses a field name of the schema.
func (p *formulaParser) field() (int, error) {
	name := p.next()
	i, ok := p.sc.lookup(name)
	if !ok {
		return 0, p.errorf("%s has no field %q", p.sc.name, name)
	}
	return i, nil
}

func (p *formulaParser) boolean() (criteria, error) {
	switch fn := strings.ToUpper(p.next()); fn {
	case "TRUE", "FALSE":
		v := fn == "TRUE"
		return func([]any, *record) bool { return v }, nil
	case "AND", "OR":
		var terms []criteria
		err := p.args(func() error {
			c, err := p.boolean()
			terms = append(terms, c)
			return err
		})
		if err != nil {
			return nil, err
		}
		want := fn == "OR"
		return func(old []any, r *record) bool {
			for _, c := range terms {
				if c(old, r) == want {
					return want
				}
			}
			return !want
		}, nil
	case "NOT":
		var c criteria
		err := p.args(func() (err error) { c, err = p.boolean(); return err })
		if err != nil {
			return nil, err
		}
		return func(old []any, r *record) bool { return !c(old, r) }, nil
	case "ISNEW":
		if err := p.expect("("); err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return func(old []any, _ *record) bool { return old == nil }, nil
	case "ISCHANGED":
		var i int
		err := p.args(func() (err error) { i, err = p.field(); return err })
		if err != nil {
			return nil, err
		}
		return func(old []any, r *record) bool { return old != nil && !sameValue(old[i], r.vals[i]) }, nil
	case "ISPICKVAL":
		var v operand
		var text string
		n := 0
		err := p.args(func() (err error) {
			switch n++; n {
			case 1:
				v, err = p.picklist()
				return err
			case 2:
				if t := p.next(); len(t) < 2 || t[0] != '"' {
					return p.errorf("got %q, want a quoted picklist value", t)
				}
				text = strings.Trim(p.tok, `"`)
				return nil
			}
			return p.errorf("ISPICKVAL takes two arguments")
		})
		if err == nil && n != 2 {
			err = p.errorf("ISPICKVAL takes two arguments")
		}
		if err != nil {
			return nil, err
		}
		return func(old []any, r *record) bool {
			s, _ := v(old, r).(string)
			return s == text
		}, nil
	}
	return nil, p.errorf("unknown or unsupported function %q", p.tok)
}

// picklist parses the first argument of ISPICKVAL: a field, or
// PRIORVALUE(field), its value before the save (the current one on an
// insert, as in Salesforce).
func (p *formulaParser) picklist() (operand, error) {
	save := p.pos
	if strings.EqualFold(p.next(), "PRIORVALUE") {
		var i int
		err := p.args(func() (err error) { i, err = p.field(); return err })
		if err != nil {
			return nil, err
		}
		return func(old []any, r *record) any {
			if old == nil {
				return r.vals[i]
			}
			return old[i]
		}, nil
	}
	p.pos = save
	i, err := p.field()
	if err != nil {
		return nil, err
	}
	return func(_ []any, r *record) any { return r.vals[i] }, nil
}

// sameValue compares two stored values (see value.go): strings exactly,
// case included, and instants as instants.
func sameValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}
