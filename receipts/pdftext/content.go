package pdftext

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// gstate is the part of the graphics state that text extraction needs;
// q and Q save and restore it.
type gstate struct {
	font        font
	size        float64
	transformed bool // a cm is in effect, so positions would need its matrix
}

// pageRuns interprets one page's content stream and returns the strings it
// shows. Positions follow Td from the origin each BT sets.
func pageRuns(content []byte, fonts map[string]font) ([]Run, error) {
	var (
		runs     []Run
		operands []token
		gs       gstate
		saved    []gstate
		inText   bool
		x, y     float64
	)
	sc := scanner{b: content}
	for {
		tok, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if tok.kind != operator {
			operands = append(operands, tok)
			continue
		}
		switch op := tok.s; op {
		case "q":
			saved = append(saved, gs)
		case "Q":
			if len(saved) == 0 {
				return nil, errors.New("content stream: Q without q")
			}
			gs, saved = saved[len(saved)-1], saved[:len(saved)-1]
		case "cm":
			gs.transformed = true
		case "BT":
			inText, x, y = true, 0, 0
		case "ET":
			inText = false
		case "Tf":
			ops, err := last(op, operands, name, number)
			if err != nil {
				return nil, err
			}
			f, ok := fonts[ops[0].s]
			switch {
			case !ok:
				return nil, fmt.Errorf("content stream uses font /%s, which the PDF does not define", ops[0].s)
			case !f.winAnsi:
				return nil, fmt.Errorf("content stream uses font %s, which is not in WinAnsiEncoding", f.base)
			}
			gs.font, gs.size = f, ops[1].num
		case "Td":
			ops, err := last(op, operands, number, number)
			if err != nil {
				return nil, err
			}
			if !inText {
				return nil, errors.New("content stream: Td outside BT … ET")
			}
			x, y = x+ops[0].num, y+ops[1].num
			if math.IsInf(x, 0) || math.IsInf(y, 0) {
				return nil, errors.New("content stream: Td moves off any page")
			}
		case "Tj":
			ops, err := last(op, operands, literal)
			if err != nil {
				return nil, err
			}
			switch {
			case !inText:
				return nil, errors.New("content stream: Tj outside BT … ET")
			case gs.font.base == "":
				return nil, errors.New("content stream: Tj before any Tf")
			case gs.transformed:
				return nil, errors.New("content stream: Tj under a cm transformation, which pdftext does not apply")
			}
			raw := ops[0].s
			runs = append(runs, Run{Text: decodeWinAnsi(raw), Raw: raw, X: x, Y: y, Font: gs.font.base, FontSize: gs.size})
		case "TJ", "'", `"`, "Tm", "TD", "T*":
			return nil, fmt.Errorf("content stream uses %s, which pdftext does not read", op)
		}
		operands = operands[:0]
	}
	if inText {
		return nil, errors.New("content stream ends inside BT … ET")
	}
	return runs, nil
}

// last returns the operands of op, the last len(kinds) on the stack, after
// checking there are enough and that they are of those kinds.
func last(op string, operands []token, kinds ...kind) ([]token, error) {
	if len(operands) < len(kinds) {
		return nil, fmt.Errorf("content stream: %s has %d operands, wants %d", op, len(operands), len(kinds))
	}
	ops := operands[len(operands)-len(kinds):]
	for i, k := range kinds {
		if ops[i].kind != k {
			return nil, fmt.Errorf("content stream: %s operand %d is %s, wants %s", op, i+1, ops[i].kind, k)
		}
	}
	return ops, nil
}
