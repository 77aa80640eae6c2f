package pdftext_test

import (
	"math"
	"testing"

	"github.com/stripesync/stripesync/receipts/pdftext"
)

// FuzzRead feeds Read arbitrary bytes, starting from a rendered receipt
// and hand-written uncompressed pages (which let mutations reach the
// content-stream scanner past zlib's checksum). Read must not panic, and
// what it accepts must be a consistent Doc.
//
//	go test -run='^$' -fuzz=FuzzRead -fuzztime=30s -fuzzminimizetime=200x ./receipts/pdftext/
//
// Bound the minimization: by default each new input is minimized for up to
// 60 s, and cutting a multi-kilobyte PDF byte by byte takes longer than
// that, so an unbounded run spends its whole time minimizing.
func FuzzRead(f *testing.F) {
	f.Add(renderReceipt(f))
	f.Add(handPDF(page(firstPage), flatePage("BT /F1 10 Tf 72 72 Td (page two)Tj ET")))
	f.Add(handPDF(page(`BT /F1 10 Tf (a\(b\)\\\101\
)Tj ET`)))
	f.Fuzz(func(t *testing.T, pdf []byte) {
		doc, err := pdftext.Read(pdf)
		if err != nil {
			return
		}
		prev := 1
		for _, r := range doc.Runs {
			if r.Page < prev || r.Page > doc.Pages {
				t.Fatalf("run %+v on page %d after page %d, of %d", r, r.Page, prev, doc.Pages)
			}
			prev = r.Page
			if r.Font == "" || math.IsInf(r.X, 0) || math.IsInf(r.Y, 0) || math.IsInf(r.FontSize, 0) {
				t.Fatalf("run %+v: no font or an infinite number", r)
			}
		}
		if len(doc.Runs) > 0 && doc.Text() == "" {
			t.Fatalf("%d runs and no text", len(doc.Runs))
		}
	})
}
