package receipts

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// textRun is one string a PDF page draws with Tj: where its baseline
// starts (points from the bottom-left corner), its font and size, and the
// text decoded from WinAnsiEncoding (cp1252) to UTF-8.
type textRun struct {
	Text     string
	Raw      string // as drawn, in cp1252
	X, Y     float64
	Font     string // BaseFont, e.g. "Helvetica-Bold"
	FontSize float64
}

// pdfDoc is what the tests read back out of a rendered PDF.
type pdfDoc struct {
	Pages int
	Runs  []textRun
}

// Text is every run joined by newlines, in drawing order.
func (d pdfDoc) Text() string {
	var b strings.Builder
	for _, r := range d.Runs {
		b.WriteString(r.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

var (
	streamRE    = regexp.MustCompile(`(?s)<<([^>]*)>>\s*stream\r?\n(.*?)\r?\nendstream`)
	fontObjRE   = regexp.MustCompile(`(?s)(\d+) 0 obj\s*<</Type /Font\s*/BaseFont /([A-Za-z-]+)`)
	fontRefRE   = regexp.MustCompile(`/(F[0-9A-Za-z]+) (\d+) 0 R`)
	pageCountRE = regexp.MustCompile(`/Type /Pages\s*/Kids \[[^\]]*\]\s*/Count (\d+)`)
)

// readPDF extracts the text runs of a PDF written by gofpdf: it inflates
// the FlateDecode content streams and interprets the few text operators
// gofpdf emits (BT, Tf, Td, Tj, ET). It is a test helper, not a PDF parser:
// it fails the test on anything it does not understand.
func readPDF(t testing.TB, pdf []byte) pdfDoc {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: starts with %q", pdf[:min(len(pdf), 8)])
	}
	fonts := map[string]string{} // resource name → BaseFont
	objFont := map[string]string{}
	for _, m := range fontObjRE.FindAllSubmatch(pdf, -1) {
		objFont[string(m[1])] = string(m[2])
	}
	for _, m := range fontRefRE.FindAllSubmatch(pdf, -1) {
		if base, ok := objFont[string(m[2])]; ok {
			fonts[string(m[1])] = base
		}
	}
	var doc pdfDoc
	m := pageCountRE.FindSubmatch(pdf)
	if m == nil {
		t.Fatal("PDF has no page tree")
	}
	doc.Pages, _ = strconv.Atoi(string(m[1]))
	for _, s := range streamRE.FindAllSubmatch(pdf, -1) {
		content := s[2]
		if bytes.Contains(s[1], []byte("/FlateDecode")) {
			zr, err := zlib.NewReader(bytes.NewReader(content))
			if err != nil {
				t.Fatalf("inflate content stream: %v", err)
			}
			if content, err = io.ReadAll(zr); err != nil {
				t.Fatalf("inflate content stream: %v", err)
			}
		}
		doc.Runs = append(doc.Runs, textRuns(t, content, fonts)...)
	}
	return doc
}

// textRuns interprets one content stream.
func textRuns(t testing.TB, content []byte, fonts map[string]string) []textRun {
	t.Helper()
	var (
		runs     []textRun
		operands []string
		font     string
		size     float64
		x, y     float64
	)
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("content stream: operand %q is not a number", s)
		}
		return f
	}
	for tok := range pdfTokens(t, content) {
		if tok.literal || strings.HasPrefix(tok.s, "/") || isNumber(tok.s) {
			operands = append(operands, tok.s)
			continue
		}
		switch tok.s {
		case "BT":
			x, y = 0, 0
		case "Tf":
			name := strings.TrimPrefix(operands[len(operands)-2], "/")
			if font = fonts[name]; font == "" {
				t.Fatalf("content stream uses font %s, which the PDF does not define", name)
			}
			size = num(operands[len(operands)-1])
		case "Td":
			x, y = x+num(operands[len(operands)-2]), y+num(operands[len(operands)-1])
		case "Tj":
			raw := operands[len(operands)-1]
			runs = append(runs, textRun{Text: decodeWinAnsi(raw), Raw: raw, X: x, Y: y, Font: font, FontSize: size})
		case "TJ", "'", "\"":
			t.Fatalf("content stream uses %s, which this helper does not read", tok.s)
		}
		operands = operands[:0]
	}
	return runs
}

type pdfToken struct {
	s       string
	literal bool // a (string), already unescaped
}

// pdfTokens splits a content stream into operands and operators.
func pdfTokens(t testing.TB, b []byte) func(yield func(pdfToken) bool) {
	return func(yield func(pdfToken) bool) {
		for i := 0; i < len(b); {
			c := b[i]
			switch {
			case c == ' ' || c == '\n' || c == '\r' || c == '\t':
				i++
			case c == '(':
				s, n := pdfString(t, b[i:])
				i += n
				if !yield(pdfToken{s: s, literal: true}) {
					return
				}
			case c == '[' || c == ']':
				i++
			default:
				j := i + 1
				for j < len(b) && !strings.ContainsRune(" \n\r\t()[]/", rune(b[j])) {
					j++
				}
				if !yield(pdfToken{s: string(b[i:j])}) {
					return
				}
				i = j
			}
		}
	}
}

// pdfString reads the literal string at the start of b, with its escapes
// and balanced parentheses, and returns it and the bytes it used.
func pdfString(t testing.TB, b []byte) (string, int) {
	var out []byte
	depth := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '(':
			if depth > 0 {
				out = append(out, c)
			}
			depth++
		case ')':
			depth--
			if depth == 0 {
				return string(out), i + 1
			}
			out = append(out, c)
		case '\\':
			i++
			if i == len(b) {
				t.Fatal("content stream ends inside a string escape")
			}
			switch e := b[i]; e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '0', '1', '2', '3', '4', '5', '6', '7':
				j := i
				for j < len(b) && j < i+3 && b[j] >= '0' && b[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(string(b[i:j]), 8, 8)
				out = append(out, byte(v))
				i = j - 1
			default:
				out = append(out, e)
			}
		default:
			out = append(out, c)
		}
	}
	t.Fatal("content stream ends inside a string")
	return "", 0
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// winAnsiHigh maps the bytes 0x80–0x9F of Windows-1252 to Unicode (the
// rest of the upper half is Latin-1); unassigned positions map to U+FFFD.
var winAnsiHigh = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

func decodeWinAnsi(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80 && c < 0xA0:
			b.WriteRune(winAnsiHigh[c-0x80])
		default:
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}
