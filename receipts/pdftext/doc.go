// Package pdftext reads back the text of the PDFs that receipts.Render
// writes, so that tests anywhere in the module (the receipts package's own
// layout tests, the sync engine's end-to-end tests that receive receipts
// over SMTP) can check what a customer would actually see: which strings a
// page draws, where, and in which font.
//
// It is not a general PDF parser. It understands exactly the subset that
// codeberg.org/go-pdf/fpdf writes for a receipt: a page tree with a
// /Count, pages whose /Contents is one stream with a direct /Length,
// unfiltered or FlateDecode, the text operators BT, ET, Tf, Td and Tj, the
// graphics-state operators q and Q, and the unembedded core fonts in
// WinAnsiEncoding (Windows-1252), decoded here to UTF-8. Other operators
// (colours, lines, rectangles) do not draw text and are skipped. Anything
// that would show or place text in a way it does not model (TJ, ', ", Tm,
// TD, T*, text under a cm transformation) is an error rather than text
// silently dropped or misplaced, so a test fails loudly if the renderer
// starts writing something new.
//
// [Read] never panics: malformed input, truncated files and content
// streams that inflate beyond a few megabytes are returned as errors.
//
//	doc, err := pdftext.Read(pdf)
//	if err != nil {
//		t.Fatal(err)
//	}
//	if !strings.Contains(doc.Text(), "25.00 USD") { … }
package pdftext
