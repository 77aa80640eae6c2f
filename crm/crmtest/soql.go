package crmtest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file parses the SOQL subset the emulator serves:
//
//	SELECT f1, f2, … FROM Object
//	  [WHERE cond]        cond: f op literal | f [NOT] IN (literals) | f LIKE 'pat'
//	                      combined with AND / OR / NOT and parentheses
//	  [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], …]
//	  [LIMIT n]
//
// Literals: 'text' (with backslash escapes), numbers, true, false, null,
// dateTime literals (unquoted, …ssZ / …ss.SSSZ / …ss±hh:mm) and date
// literals (yyyy-MM-dd). As in Salesforce, AND and OR may not be mixed at one
// level without parentheses. Anything else is MALFORMED_QUERY; field names
// are resolved later against the schema (INVALID_FIELD).

type tokenKind int

const (
	tEOF     tokenKind = iota
	tIdent             // keyword or name
	tString            // 'quoted', escapes resolved
	tLiteral           // unquoted number, date or dateTime
	tPunct             // ( ) ,
	tOp                // = != <> < <= > >=
)

type token struct {
	kind tokenKind
	text string
}

func malformed(format string, args ...any) *apiError {
	return &apiError{status: 400, code: "MALFORMED_QUERY", message: fmt.Sprintf(format, args...)}
}

func lex(q string) ([]token, *apiError) {
	var toks []token
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isIdent := func(c byte) bool {
		return c == '_' || c == '.' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
	}
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var sb strings.Builder
			i++
			for {
				if i >= len(q) {
					return nil, malformed("unterminated string literal")
				}
				if q[i] == '\'' {
					i++
					break
				}
				if q[i] == '\\' && i+1 < len(q) {
					i++
					switch q[i] {
					case 'n':
						sb.WriteByte('\n')
					case 't':
						sb.WriteByte('\t')
					case 'r':
						sb.WriteByte('\r')
					case 'b':
						sb.WriteByte('\b')
					case 'f':
						sb.WriteByte('\f')
					case '\'', '"', '\\', '_', '%':
						sb.WriteByte(q[i])
					default:
						return nil, malformed("invalid escape sequence \\%c", q[i])
					}
					i++
					continue
				}
				sb.WriteByte(q[i])
				i++
			}
			toks = append(toks, token{tString, sb.String()})
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, token{tPunct, string(c)})
			i++
		case c == '=':
			toks = append(toks, token{tOp, "="})
			i++
		case c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(q) && (q[i+1] == '=' || (c == '<' && q[i+1] == '>')) {
				op += string(q[i+1])
			}
			if op == "!" {
				return nil, malformed("unexpected token: '!'")
			}
			if op == "<>" {
				op = "!="
			}
			toks = append(toks, token{tOp, op})
			i += len(op)
		case isDigit(c) || ((c == '-' || c == '+') && i+1 < len(q) && isDigit(q[i+1])):
			j := i + 1
			for j < len(q) && (isIdent(q[j]) || q[j] == ':' || q[j] == '-' || q[j] == '+') {
				j++
			}
			toks = append(toks, token{tLiteral, q[i:j]})
			i = j
		case isIdent(c):
			j := i
			for j < len(q) && isIdent(q[j]) {
				j++
			}
			toks = append(toks, token{tIdent, q[i:j]})
			i = j
		default:
			return nil, malformed("unexpected token: '%c'", c)
		}
	}
	return append(toks, token{kind: tEOF}), nil
}

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
	litDate
	litDateTime
)

// literal is a parsed value; val is already in stored form (canonical
// decimal, bool, yyyy-MM-dd string, UTC time.Time, or nil).
type literal struct {
	kind litKind
	val  any
}

type query struct {
	fields  []string
	object  string
	where   expr // nil when absent
	orderBy []orderTerm
	limit   int // -1 when absent
}

type orderTerm struct {
	field     string
	desc      bool
	nullsLast bool
}

// expr is a WHERE tree: *logic, *not or *cond.
type expr interface{ isExpr() }

type logic struct {
	and  bool
	kids []expr
}

type not struct{ kid expr }

type cond struct {
	field string
	op    string // = != < <= > >= IN NOT IN LIKE
	vals  []literal
}

func (*logic) isExpr() {}
func (*not) isExpr()   {}
func (*cond) isExpr()  {}

type parser struct {
	toks []token
	pos  int
}

func parseSOQL(q string) (*query, *apiError) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	return p.query()
}

func (p *parser) peek() token { return p.toks[p.pos] }

// keyword consumes the next token when it is the identifier kw.
func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) unexpected() *apiError {
	t := p.peek()
	if t.kind == tEOF {
		return malformed("unexpected end of query")
	}
	return malformed("unexpected token: '%s'", t.text)
}

func (p *parser) expectPunct(s string) *apiError {
	if t := p.peek(); t.kind == tPunct && t.text == s {
		p.pos++
		return nil
	}
	return p.unexpected()
}

func (p *parser) ident() (string, *apiError) {
	t := p.peek()
	if t.kind != tIdent || isReserved(t.text) {
		return "", p.unexpected()
	}
	p.pos++
	return t.text, nil
}

func isReserved(s string) bool {
	switch strings.ToUpper(s) {
	case "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "ASC", "DESC", "NULLS":
		return true
	}
	return false
}

func (p *parser) query() (*query, *apiError) {
	q := &query{limit: -1}
	if !p.keyword("SELECT") {
		return nil, p.unexpected()
	}
	for {
		f, err := p.ident()
		if err != nil {
			return nil, err
		}
		q.fields = append(q.fields, f)
		if p.peek().kind != tPunct || p.peek().text != "," {
			break
		}
		p.pos++
	}
	if !p.keyword("FROM") {
		return nil, p.unexpected()
	}
	obj, err := p.ident()
	if err != nil {
		return nil, err
	}
	q.object = obj
	if p.keyword("WHERE") {
		if q.where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.keyword("ORDER") {
		if !p.keyword("BY") {
			return nil, p.unexpected()
		}
		for {
			f, err := p.ident()
			if err != nil {
				return nil, err
			}
			term := orderTerm{field: f}
			if p.keyword("DESC") {
				term.desc = true
			} else {
				p.keyword("ASC")
			}
			term.nullsLast = term.desc
			if p.keyword("NULLS") {
				switch {
				case p.keyword("FIRST"):
					term.nullsLast = false
				case p.keyword("LAST"):
					term.nullsLast = true
				default:
					return nil, p.unexpected()
				}
			}
			q.orderBy = append(q.orderBy, term)
			if p.peek().kind != tPunct || p.peek().text != "," {
				break
			}
			p.pos++
		}
	}
	if p.keyword("LIMIT") {
		t := p.peek()
		n, err := strconv.Atoi(t.text)
		if t.kind != tLiteral || err != nil || n < 0 {
			return nil, malformed("LIMIT must be a non-negative integer")
		}
		p.pos++
		q.limit = n
	}
	if p.peek().kind != tEOF {
		return nil, p.unexpected()
	}
	return q, nil
}

// expr parses terms joined by one kind of connective; mixing AND and OR at
// one level needs parentheses, as in Salesforce.
func (p *parser) expr() (expr, *apiError) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	var l *logic
	for {
		var and bool
		switch {
		case p.keyword("AND"):
			and = true
		case p.keyword("OR"):
			and = false
		default:
			if l == nil {
				return first, nil
			}
			return l, nil
		}
		if l == nil {
			l = &logic{and: and, kids: []expr{first}}
		} else if l.and != and {
			return nil, malformed("unexpected token: '%s' (use parentheses to combine AND and OR)", map[bool]string{true: "AND", false: "OR"}[and])
		}
		kid, err := p.unary()
		if err != nil {
			return nil, err
		}
		l.kids = append(l.kids, kid)
	}
}

func (p *parser) unary() (expr, *apiError) {
	if p.keyword("NOT") {
		kid, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &not{kid}, nil
	}
	if t := p.peek(); t.kind == tPunct && t.text == "(" {
		p.pos++
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return e, p.expectPunct(")")
	}
	return p.cond()
}

func (p *parser) cond() (expr, *apiError) {
	f, err := p.ident()
	if err != nil {
		return nil, err
	}
	c := &cond{field: f}
	switch t := p.peek(); {
	case t.kind == tOp:
		p.pos++
		c.op = t.text
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		c.vals = []literal{v}
	case p.keyword("LIKE"):
		c.op = "LIKE"
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		if v.kind != litString {
			return nil, malformed("LIKE needs a quoted pattern")
		}
		c.vals = []literal{v}
	case p.keyword("NOT"):
		if !p.keyword("IN") {
			return nil, p.unexpected()
		}
		c.op = "NOT IN"
	case p.keyword("IN"):
		c.op = "IN"
	default:
		return nil, p.unexpected()
	}
	if c.op == "IN" || c.op == "NOT IN" {
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, v)
			t := p.peek()
			if t.kind != tPunct || (t.text != ")" && t.text != ",") {
				return nil, p.unexpected()
			}
			p.pos++
			if t.text == ")" {
				break
			}
		}
	}
	return c, nil
}

func (p *parser) literal() (literal, *apiError) {
	lit, ok := parseLiteral(p.peek())
	if !ok {
		return literal{}, p.unexpected()
	}
	p.pos++
	return lit, nil
}

func parseLiteral(t token) (literal, bool) {
	switch t.kind {
	case tString:
		return literal{litString, t.text}, true
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true":
			return literal{litBool, true}, true
		case "false":
			return literal{litBool, false}, true
		case "null":
			return literal{litNull, nil}, true
		}
	case tLiteral:
		if len(t.text) == len(dateLayout) {
			if _, err := time.Parse(dateLayout, t.text); err == nil {
				return literal{litDate, t.text}, true
			}
		}
		if strings.ContainsRune(t.text, 'T') {
			// Fractional seconds are accepted by time.Parse even though
			// the layout does not spell them out.
			if tm, err := time.Parse("2006-01-02T15:04:05Z07:00", t.text); err == nil {
				return literal{litDateTime, tm.UTC().Truncate(time.Millisecond)}, true
			}
		}
		if d, ok := canonicalDecimal(t.text); ok {
			return literal{litNumber, d}, true
		}
	}
	return literal{}, false
}
