package browsertest

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// The checks of [Audit], as they appear in [Problem.Check].
const (
	CheckLabel    = "label"    // a form control has no accessible name
	CheckLang     = "lang"     // <html> has no lang
	CheckHeading  = "h1"       // not exactly one <h1>
	CheckAlt      = "alt"      // an <img> has no alt attribute
	CheckContrast = "contrast" // text is below WCAG AA contrast
)

// Problem is one accessibility problem of a page.
type Problem struct {
	Check   string `json:"check"`   // one of the Check constants
	Element string `json:"element"` // the element, as a short CSS-like description ("input#email", "p.muted")
	Detail  string `json:"detail"`  // what is wrong, with the numbers
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.Check, p.Element, p.Detail) }

// Audit checks the page in the tab of ctx and returns its problems, none
// for a page that passes:
//
//   - label: every input (except hidden, submit, reset, button and image
//     ones, which name themselves), select and textarea has a <label> with
//     text (for= or around it), an aria-label, or an aria-labelledby that
//     points at text;
//   - lang: <html lang> is set;
//   - h1: the page has exactly one <h1>;
//   - alt: every <img> has an alt attribute (alt="" marks a decorative one);
//   - contrast: every visible element with text of its own has a contrast
//     ratio of at least 4.5:1 between its color and the background behind
//     it, or 3:1 for large text (24px, or 18.66px bold), as WCAG 2 AA asks.
//     Both colors come from getComputedStyle; the background is the first
//     opaque background-color up the tree (white at the top), with
//     translucent ones composited over it. Text over a background image
//     cannot be judged this way and is reported too.
func Audit(ctx context.Context) ([]Problem, error) {
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[[]Problem](auditJS))
}

// AssertAccessible reports each problem [Audit] finds as a test error.
func AssertAccessible(t testing.TB, ctx context.Context) {
	t.Helper()
	problems, err := Audit(ctx)
	if err != nil {
		t.Fatalf("browsertest: audit: %v", err)
	}
	for _, p := range problems {
		t.Errorf("accessibility: %s", p)
	}
}

// auditJS returns the problems of the page as [{check, element, detail}].
const auditJS = `(() => {
	const problems = [];
	const add = (check, el, detail) => problems.push({check, element: describe(el), detail});
	const describe = (el) => {
		if (!el || !el.tagName) return "document";
		let s = el.tagName.toLowerCase();
		if (el.id) return s + "#" + el.id;
		if (s === "html" || s === "body") return s;
		const name = el.getAttribute("name");
		if (name) return s + "[name=" + name + "]";
		if (el.classList.length) return s + "." + Array.from(el.classList).join(".");
		const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 30);
		return text ? s + " " + JSON.stringify(text) : s;
	};
	const text = (el) => (el && el.textContent || "").trim();

	// label
	const selfNamed = new Set(["hidden", "submit", "reset", "button", "image"]);
	for (const el of document.querySelectorAll("input, select, textarea")) {
		if (el.tagName === "INPUT" && selfNamed.has((el.getAttribute("type") || "text").toLowerCase())) continue;
		if (Array.from(el.labels || []).some((l) => text(l) !== "")) continue;
		if ((el.getAttribute("aria-label") || "").trim() !== "") continue;
		const ids = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
		if (ids.some((id) => text(document.getElementById(id)) !== "")) continue;
		add("label", el, "no <label>, aria-label or aria-labelledby with text");
	}

	// lang
	if ((document.documentElement.getAttribute("lang") || "").trim() === "") {
		add("lang", document.documentElement, "<html> has no lang attribute");
	}

	// h1
	const h1s = document.querySelectorAll("h1");
	if (h1s.length !== 1) {
		add("h1", h1s[1] || document.body, h1s.length + " <h1> elements, want exactly 1");
	}

	// alt
	for (const img of document.querySelectorAll("img")) {
		if (!img.hasAttribute("alt")) add("alt", img, "<img src=" + JSON.stringify(img.getAttribute("src") || "") + "> has no alt attribute");
	}

	// contrast
	const canvas = document.createElement("canvas").getContext("2d");
	const parse = (css) => {
		// The canvas normalises any CSS color to #rrggbb or rgba(r, g, b, a).
		canvas.fillStyle = "#010203";
		canvas.fillStyle = css;
		const v = canvas.fillStyle;
		if (v === "#010203" && css.replace(/\s/g, "") !== "rgb(1,2,3)") return null;
		let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(v);
		if (m) return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16), 1];
		m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(v);
		if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
		return null;
	};
	const over = (top, bottom) => {
		const a = top[3];
		return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
	};
	const luminance = (c) => {
		const [r, g, b] = c.slice(0, 3).map((v) => {
			v /= 255;
			return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
		});
		return 0.2126 * r + 0.7152 * g + 0.0722 * b;
	};
	const background = (el) => {
		// The backgrounds from el up, composited from the top of the tree down.
		const layers = [];
		for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
			const st = getComputedStyle(e);
			if (st.backgroundImage && st.backgroundImage !== "none") return {image: e};
			const c = parse(st.backgroundColor);
			if (c === null) return {unparsed: st.backgroundColor};
			if (c[3] > 0) layers.push(c);
			if (c[3] >= 1) break;
		}
		let bg = [255, 255, 255, 1];
		for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
		return {color: bg};
	};
	const visible = (el) => {
		if (!el.getClientRects().length) return false;
		for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
			const st = getComputedStyle(e);
			if (st.visibility === "hidden" || st.visibility === "collapse" || st.display === "none" || +st.opacity === 0) return false;
		}
		return true;
	};
	for (const el of document.body ? document.body.querySelectorAll("*") : []) {
		if (["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "SVG"].includes(el.tagName.toUpperCase())) continue;
		const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== "");
		const field = ["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(el.tagName) && (el.value || "").trim() !== "";
		if ((!own && !field) || !visible(el)) continue;
		if (el.tagName === "INPUT" && (el.type || "").toLowerCase() === "hidden") continue;
		const st = getComputedStyle(el);
		const fg = parse(st.color);
		if (fg === null) {
			add("contrast", el, "cannot read the color " + st.color);
			continue;
		}
		const bg = background(el);
		if (bg.image) {
			add("contrast", el, "text over a background image (on " + describe(bg.image) + "); its contrast cannot be computed");
			continue;
		}
		if (bg.unparsed) {
			add("contrast", el, "cannot read the background color " + bg.unparsed);
			continue;
		}
		const text = over(fg, bg.color);
		const [l1, l2] = [luminance(text), luminance(bg.color)].sort((a, b) => b - a);
		const ratio = (l1 + 0.05) / (l2 + 0.05);
		const size = parseFloat(st.fontSize);
		const bold = parseInt(st.fontWeight, 10) >= 700;
		const large = size >= 24 || (bold && size >= 18.66);
		const want = large ? 3 : 4.5;
		if (ratio < want) {
			const rgb = (c) => "rgb(" + c.slice(0, 3).map(Math.round).join(", ") + ")";
			add("contrast", el, "contrast " + ratio.toFixed(2) + ":1 of " + rgb(text) + " on " + rgb(bg.color) +
				", want at least " + want + ":1 for " + (large ? "large" : "normal") + " text (" + size + "px" + (bold ? " bold" : "") + ")");
		}
	}
	return problems;
})()`
