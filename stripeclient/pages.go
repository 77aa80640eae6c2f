package stripeclient

import (
	"iter"
	"slices"
)

// listPageSize is the largest page Stripe's lists return.
const listPageSize = 100

// pageFunc fetches one page of a Stripe list in Stripe's order (newest
// first). At most one of startingAfter and endingBefore is set. more is
// has_more: whether items lie beyond the page in the direction of travel.
type pageFunc[T any] func(startingAfter, endingBefore string) (items []T, more bool, err error)

// newestFirst streams a Stripe list a page at a time in Stripe's order
// (newest first), holding only the page in hand: a list of k pages costs
// k requests. Empty pages are not yielded. The first error is yielded with
// a nil page and ends the walk; so does a yield that returns false.
func newestFirst[T any](page pageFunc[T], id func(T) string) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		after := ""
		for {
			items, more, err := page(after, "")
			if err != nil {
				yield(nil, err)
				return
			}
			if len(items) > 0 && !yield(items, nil) {
				return
			}
			if !more || len(items) == 0 {
				return
			}
			after = id(items[len(items)-1])
		}
	}
}

// oldestFirst streams a newest-first Stripe list oldest first, holding one
// page at a time.
//
// Stripe lists newest first and a cursor must name an existing object, so
// the walk has two legs: it first pages forward (starting_after) to the
// oldest page, keeping only the page in hand; then it yields that page
// reversed and walks back toward the newest (ending_before the newest item
// yielded), reversing each page. A list of one page costs one request; one
// of k pages costs 2k−1. Objects created during the walk are yielded too,
// since the second leg runs until Stripe has nothing newer.
//
// The first error is yielded with a zero item and ends the walk; so does a
// yield that returns false.
func oldestFirst[T any](page pageFunc[T], id func(T) string, yield func(T, error) bool) {
	var zero T
	// Leg one: forward to the oldest page.
	items, more, err := page("", "")
	newer := more // pages lie between the oldest and the newest
	for err == nil && more && len(items) > 0 {
		var older []T
		older, more, err = page(id(items[len(items)-1]), "")
		if len(older) == 0 {
			// Nothing older after all (it expired meanwhile): the page
			// in hand is the oldest.
			break
		}
		items = older
	}
	if err != nil {
		yield(zero, err)
		return
	}
	// Leg two: back toward the newest, a page at a time.
	for {
		for _, it := range slices.Backward(items) {
			if !yield(it, nil) {
				return
			}
		}
		if !newer || len(items) == 0 {
			return
		}
		if items, newer, err = page("", id(items[0])); err != nil {
			yield(zero, err)
			return
		}
	}
}
