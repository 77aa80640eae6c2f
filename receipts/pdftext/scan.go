package pdftext

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// kind is what a content-stream token is.
type kind int

const (
	operator kind = iota // anything else: BT, Tj, rg, …
	number
	name    // /F1, without the slash
	literal // a (string), unescaped
)

func (k kind) String() string {
	return [...]string{"an operator", "a number", "a name", "a string"}[k]
}

type token struct {
	kind kind
	s    string
	num  float64 // for a number
}

// scanner splits a content stream into tokens. Array brackets are
// skipped: the only operator that takes an array and shows text (TJ) is
// refused anyway.
type scanner struct {
	b []byte
	i int
}

const (
	whitespace = "\x00\t\n\f\r "
	delimiters = whitespace + "()<>[]{}/%"
)

// next returns the next token, or io.EOF at the end of the stream.
func (s *scanner) next() (token, error) {
	for s.i < len(s.b) && (strings.IndexByte(whitespace, s.b[s.i]) >= 0 || s.b[s.i] == '[' || s.b[s.i] == ']') {
		s.i++
	}
	if s.i == len(s.b) {
		return token{}, io.EOF
	}
	switch c := s.b[s.i]; {
	case c == '(':
		str, err := s.literal()
		return token{kind: literal, s: str}, err
	case c == '/':
		s.i++
		return token{kind: name, s: s.word()}, nil
	case strings.IndexByte(delimiters, c) >= 0:
		s.i++ // a delimiter this scanner has no use for: an operator nothing handles
		return token{kind: operator, s: string(c)}, nil
	}
	w := s.word()
	if f, ok := parseNumber(w); ok {
		return token{kind: number, s: w, num: f}, nil
	}
	return token{kind: operator, s: w}, nil
}

// word reads up to the next delimiter.
func (s *scanner) word() string {
	j := s.i
	for j < len(s.b) && strings.IndexByte(delimiters, s.b[j]) < 0 {
		j++
	}
	w := string(s.b[s.i:j])
	s.i = j
	return w
}

// literal reads the (string) at s.i, with its escapes and balanced
// parentheses, and returns its bytes.
func (s *scanner) literal() (string, error) {
	var out []byte
	depth := 0
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch c {
		case '(':
			if depth > 0 {
				out = append(out, c)
			}
			depth++
		case ')':
			depth--
			if depth == 0 {
				s.i++
				return string(out), nil
			}
			out = append(out, c)
		case '\\':
			s.i++
			if s.i == len(s.b) {
				return "", errors.New("content stream ends inside a string escape")
			}
			out = s.escape(out)
		default:
			out = append(out, c)
		}
	}
	return "", errors.New("content stream ends inside a string")
}

// escape appends what the escape sequence whose first byte is at s.i
// stands for, and leaves s.i on its last byte.
func (s *scanner) escape(out []byte) []byte {
	switch e := s.b[s.i]; e {
	case 'n':
		return append(out, '\n')
	case 'r':
		return append(out, '\r')
	case 't':
		return append(out, '\t')
	case 'b':
		return append(out, '\b')
	case 'f':
		return append(out, '\f')
	case '\r': // a backslash before an end of line continues the string
		if s.i+1 < len(s.b) && s.b[s.i+1] == '\n' {
			s.i++
		}
		return out
	case '\n':
		return out
	case '0', '1', '2', '3', '4', '5', '6', '7':
		// Up to three octal digits; overflow past a byte is ignored.
		var v byte
		end := min(s.i+3, len(s.b))
		for ; s.i < end && s.b[s.i] >= '0' && s.b[s.i] <= '7'; s.i++ {
			v = v*8 + s.b[s.i] - '0'
		}
		s.i--
		return append(out, v)
	default: // \( \) \\, and a backslash before anything else is dropped
		return append(out, e)
	}
}

// parseNumber reads a PDF number: an optional sign, then digits with at
// most one decimal point (no exponent, unlike strconv.ParseFloat).
func parseNumber(w string) (float64, bool) {
	digits, points := 0, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		case (c == '+' || c == '-') && i == 0:
		default:
			return 0, false
		}
	}
	if digits == 0 || points > 1 {
		return 0, false
	}
	f, err := strconv.ParseFloat(w, 64)
	return f, err == nil
}
