package pdftext

import "strings"

// winAnsiHigh maps the bytes 0x80–0x9F of Windows-1252 to Unicode (the
// rest of the upper half is Latin-1); unassigned positions map to U+FFFD.
var winAnsiHigh = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

// decodeWinAnsi converts the bytes a core font draws to UTF-8.
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
