package pdftext

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"strconv"
	"strings"
)

// Doc is the text a PDF draws.
type Doc struct {
	Pages int   // as the page tree counts them
	Runs  []Run // every string shown, page by page, in drawing order
}

// Run is one string a page draws with Tj.
type Run struct {
	Page     int     // 1-based
	Text     string  // decoded from WinAnsiEncoding to UTF-8
	Raw      string  // the bytes as drawn, in Windows-1252: what font metrics measure
	X, Y     float64 // start of the baseline, in points from the page's bottom-left corner
	Font     string  // the font's BaseFont, e.g. "Helvetica-Bold"
	FontSize float64 // in points
}

// Text is every run's text in drawing order: consecutive runs on the same
// baseline of the same page are joined by a space (so a table row reads
// "Amount paid 25.00 USD"), and every line ends in a newline.
func (d Doc) Text() string {
	var b strings.Builder
	for i, r := range d.Runs {
		if i > 0 {
			if p := d.Runs[i-1]; p.Page == r.Page && p.Y == r.Y {
				b.WriteByte(' ')
			} else {
				b.WriteByte('\n')
			}
		}
		b.WriteString(r.Text)
	}
	if len(d.Runs) > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}

// maxStream caps an inflated content stream. A receipt page inflates to a
// few kilobytes; the cap keeps a malformed file from inflating without
// bound.
const maxStream = 4 << 20

// The patterns match the layout fpdf writes. Those on an object's body
// are anchored, and the rest start with a literal, so a search never
// rescans the file from every byte.
var (
	pageCountRE = regexp.MustCompile(`/Type /Pages\s*/Kids \[[^\]]*\]\s*/Count (\d+)`)
	pageRE      = regexp.MustCompile(`^\s*<<\s*/Type /Page\b[^>]*?/Contents (\d+) 0 R`)
	fontObjRE   = regexp.MustCompile(`^\s*<<\s*/Type /Font\s*/BaseFont /([A-Za-z0-9-]+)([^>]*)>>`)
	streamRE    = regexp.MustCompile(`^\s*<<([^>]*)>>\s*stream\r?\n`)
	fontDictRE  = regexp.MustCompile(`/Font\s*<<([^>]*)>>`)
	objRefRE    = regexp.MustCompile(`/([^\s/<>\[\]()]+)\s+(\d+) 0 R`)
	lengthRE    = regexp.MustCompile(`/Length\s+(\d+)(\s+\d+\s+R)?`)
	filterRE    = regexp.MustCompile(`/Filter\s*(/[A-Za-z0-9]+|\[)`)
)

// Read extracts the text runs of pdf, one written by receipts.Render (see
// the package comment for the subset it understands). It returns an error
// for anything else, never a partial Doc.
func Read(pdf []byte) (Doc, error) {
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return Doc{}, fmt.Errorf("pdftext: not a PDF: starts with %q", pdf[:min(len(pdf), 8)])
	}
	m := pageCountRE.FindSubmatch(pdf)
	if m == nil {
		return Doc{}, errors.New("pdftext: no page tree")
	}
	pages, err := strconv.Atoi(string(m[1]))
	if err != nil {
		return Doc{}, fmt.Errorf("pdftext: page count: %w", err)
	}
	objs := map[string][]byte{}
	fontObjs := map[string]font{}
	var contents []string // each page's content stream object, in file order
	for num, body := range objects(pdf) {
		if _, ok := objs[num]; ok {
			continue // the first object with a number wins; a later one can only be inside stream data
		}
		objs[num] = body
		if m := fontObjRE.FindSubmatch(body); m != nil {
			fontObjs[num] = font{base: string(m[1]), winAnsi: bytes.Contains(m[2], []byte("/Encoding /WinAnsiEncoding"))}
		} else if m := pageRE.FindSubmatch(body); m != nil {
			contents = append(contents, string(m[1]))
		}
	}
	if len(contents) != pages {
		return Doc{}, fmt.Errorf("pdftext: page tree counts %d pages, file has %d with contents", pages, len(contents))
	}
	fonts := resourceFonts(pdf, fontObjs)
	doc := Doc{Pages: pages}
	for i, num := range contents {
		content, err := readStream(objs[num], num)
		if err != nil {
			return Doc{}, fmt.Errorf("pdftext: page %d: %w", i+1, err)
		}
		runs, err := pageRuns(content, fonts)
		if err != nil {
			return Doc{}, fmt.Errorf("pdftext: page %d: %w", i+1, err)
		}
		for _, r := range runs {
			r.Page = i + 1
			doc.Runs = append(doc.Runs, r)
		}
	}
	return doc, nil
}

// objects yields, in file order, each "N 0 obj" marker's object number
// and the bytes after it (to the end of the file).
func objects(pdf []byte) iter.Seq2[string, []byte] {
	const marker = " 0 obj"
	return func(yield func(string, []byte) bool) {
		for i := 0; ; {
			j := bytes.Index(pdf[i:], []byte(marker))
			if j < 0 {
				return
			}
			end := i + j
			start := end
			for start > 0 && pdf[start-1] >= '0' && pdf[start-1] <= '9' {
				start--
			}
			i = end + len(marker)
			if start < end && !yield(string(pdf[start:end]), pdf[i:]) {
				return
			}
		}
	}
}

// font is a font dictionary as far as text extraction cares.
type font struct {
	base    string
	winAnsi bool
}

// resourceFonts maps the names that /Font resource dictionaries give the
// font objects (fpdf writes "/F<hash> 5 0 R") to those fonts.
func resourceFonts(pdf []byte, fontObjs map[string]font) map[string]font {
	fonts := map[string]font{}
	for _, d := range fontDictRE.FindAllSubmatch(pdf, -1) {
		for _, m := range objRefRE.FindAllSubmatch(d[1], -1) {
			if f, ok := fontObjs[string(m[2])]; ok {
				fonts[string(m[1])] = f
			}
		}
	}
	return fonts
}

// readStream returns the decoded data of stream object num, whose body
// (from just after "obj") is obj.
func readStream(obj []byte, num string) ([]byte, error) {
	if obj == nil {
		return nil, fmt.Errorf("content stream object %s not found", num)
	}
	loc := streamRE.FindSubmatchIndex(obj)
	if loc == nil {
		return nil, fmt.Errorf("object %s is not a stream", num)
	}
	dict, rest := string(obj[loc[2]:loc[3]]), obj[loc[1]:]
	m := lengthRE.FindStringSubmatch(dict)
	switch {
	case m == nil:
		return nil, fmt.Errorf("content stream %s has no /Length", num)
	case m[2] != "":
		return nil, fmt.Errorf("content stream %s has an indirect /Length", num)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n > len(rest) {
		return nil, fmt.Errorf("content stream %s: /Length %s runs past the end of the file", num, m[1])
	}
	data := rest[:n]
	if !bytes.HasPrefix(bytes.TrimLeft(rest[n:], "\r\n"), []byte("endstream")) {
		return nil, fmt.Errorf("content stream %s: no endstream after %d bytes", num, n)
	}
	f := filterRE.FindStringSubmatch(dict)
	switch {
	case f == nil:
		return data, nil
	case f[1] != "/FlateDecode":
		return nil, fmt.Errorf("content stream %s: filter %s is not supported", num, f[1])
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("inflate content stream %s: %w", num, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxStream+1))
	if err != nil {
		return nil, fmt.Errorf("inflate content stream %s: %w", num, err)
	}
	if len(out) > maxStream {
		return nil, fmt.Errorf("content stream %s inflates to more than %d bytes", num, maxStream)
	}
	return out, nil
}
