package stripetest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// searchObject is Stripe's search result envelope.
type searchObject struct {
	Object   string  `json:"object"`
	URL      string  `json:"url"`
	HasMore  bool    `json:"has_more"`
	NextPage *string `json:"next_page"`
	Data     []any   `json:"data"`
}

var searchParams = map[string]param{
	"query": {kind: kString},
	"limit": {kind: kInt},
	"page":  {kind: kString},
}

// clause is one field:'value' term of a search query; key is set for
// metadata['key'].
type clause struct {
	field, key, value string
}

// maxClauses is Stripe's limit on terms in one query.
const maxClauses = 10

// parseQuery reads the subset of Stripe's search language the emulator
// implements: exact-match terms field:'value' and metadata['key']:'value'
// (single or double quotes, backslash escapes), joined by AND. Other
// operators are refused rather than misread.
func parseQuery(q string) ([]clause, *apiError) {
	p := &queryParser{s: q}
	var out []clause
	for {
		p.space()
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if !p.space() && !p.end() {
			return nil, p.fail("expected whitespace after a term")
		}
		if p.end() {
			break
		}
		switch word := p.word(); word {
		case "AND":
		case "OR":
			return nil, notEmulatedQuery("OR")
		default:
			return nil, p.fail("expected AND between terms, got %q", word)
		}
		if !p.space() {
			return nil, p.fail("expected whitespace after AND")
		}
	}
	if len(out) > maxClauses {
		return nil, invalidParam("", "query", "Search queries may contain at most %d clauses.", maxClauses)
	}
	return out, nil
}

type queryParser struct {
	s   string
	pos int
}

func (p *queryParser) end() bool { return p.pos >= len(p.s) }

func (p *queryParser) space() bool {
	start := p.pos
	for !p.end() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
	return p.pos > start
}

func (p *queryParser) word() string {
	start := p.pos
	for !p.end() && (isLetter(p.s[p.pos]) || p.s[p.pos] == '_') {
		p.pos++
	}
	return p.s[start:p.pos]
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func (p *queryParser) fail(format string, args ...any) *apiError {
	e := invalidParam("", "query", format, args...)
	e.Message = "Invalid query at position " + strconv.Itoa(p.pos) + ": " + e.Message
	return e
}

func (p *queryParser) clause() (clause, *apiError) {
	if !p.end() && p.s[p.pos] == '-' {
		return clause{}, notEmulatedQuery("negation (-)")
	}
	c := clause{field: p.word()}
	if c.field == "" {
		return clause{}, p.fail("expected a field name")
	}
	if c.field == "metadata" {
		if p.end() || p.s[p.pos] != '[' {
			return clause{}, p.fail("expected [ after metadata")
		}
		p.pos++
		key, err := p.quoted()
		if err != nil {
			return clause{}, err
		}
		if p.end() || p.s[p.pos] != ']' {
			return clause{}, p.fail("expected ] after the metadata key")
		}
		p.pos++
		c.key = key
	}
	if p.end() {
		return clause{}, p.fail("expected : after %s", c.field)
	}
	switch p.s[p.pos] {
	case ':':
		p.pos++
	case '~', '<', '>':
		return clause{}, notEmulatedQuery("operator " + string(p.s[p.pos]))
	default:
		return clause{}, p.fail("expected : after %s", c.field)
	}
	v, err := p.quoted()
	if err != nil {
		return clause{}, err
	}
	c.value = v
	return c, nil
}

func (p *queryParser) quoted() (string, *apiError) {
	if p.end() || (p.s[p.pos] != '\'' && p.s[p.pos] != '"') {
		return "", p.fail("expected a quoted value")
	}
	q := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for !p.end() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '\\' && !p.end():
			b.WriteByte(p.s[p.pos])
			p.pos++
		case c == q:
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", p.fail("unterminated quoted value")
}

func notEmulatedQuery(what string) *apiError {
	return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "query",
		"stripetest: %s in search queries is not emulated", what)
}

// checkSearch validates a search request for resource, whose queryable
// fields are fields.
func checkSearch(f form, resource string, fields []string) *apiError {
	q, _ := f.str("query")
	if q == "" {
		return invalidParam("parameter_missing", "query", "Missing required param: query.")
	}
	clauses, err := parseQuery(q)
	if err != nil {
		return err
	}
	for _, c := range clauses {
		if !slices.Contains(fields, c.field) {
			return invalidParam("", "query",
				"Field `%s` is an unsupported search field for resource `%s`. See http://stripe.com/docs/search#query-fields-for-%s for a list of supported fields.",
				c.field, resource, resource)
		}
	}
	if page, _ := f.str("page"); page != "" {
		if _, ok := decodePage(page); !ok {
			return invalidParam("", "page", "Invalid page token: %s", page)
		}
	}
	return checkLimit(f)
}

// encodePage makes the opaque next_page token from the position (creation
// sequence) of the last result, so deleting that object does not lose the
// place.
func encodePage(seq int64) string {
	return base64.RawURLEncoding.EncodeToString(mustJSON([]int64{seq}))
}

func decodePage(tok string) (int64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	var v []int64
	if json.Unmarshal(raw, &v) != nil || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// searchPage pages matches, ordered newest first (descending seq), after
// the page token in f.
func searchPage[T any](matches []T, seq func(T) int64, f form, url string, render func(T) any) *searchObject {
	if tok, _ := f.str("page"); tok != "" {
		after, _ := decodePage(tok)
		i := 0
		for i < len(matches) && seq(matches[i]) >= after {
			i++
		}
		matches = matches[i:]
	}
	limit := int(f.int("limit", 10))
	res := &searchObject{Object: "search_result", URL: url, Data: []any{}}
	if len(matches) > limit {
		matches = matches[:limit]
		res.HasMore = true
		next := encodePage(seq(matches[limit-1]))
		res.NextPage = &next
	}
	for _, m := range matches {
		res.Data = append(res.Data, render(m))
	}
	return res
}
