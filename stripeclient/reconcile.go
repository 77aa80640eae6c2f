package stripeclient

import (
	"context"
	"iter"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// The lists of `stripesync reconcile`. Unlike PaymentIntents, which the
// pull needs oldest first (2k−1 requests for k pages), reconcile compares
// each object on its own and takes Stripe's order, so a list of k pages
// costs k requests.

// PaymentIntentPages streams the PaymentIntents created at or after since
// (zero: all), a page of up to 100 at a time in Stripe's order (newest
// first), each with its latest charge expanded (amount refunded, disputed,
// method). Only the page in hand is held. The first error is yielded with
// a nil page and ends the stream.
func (c *Client) PaymentIntentPages(ctx context.Context, since time.Time) iter.Seq2[[]stripesync.Payment, error] {
	page := func(after, before string) ([]*stripe.PaymentIntent, bool, error) {
		return c.paymentIntentPage(ctx, since, after, before)
	}
	return mapPages(newestFirst(page, func(pi *stripe.PaymentIntent) string { return pi.ID }), toPayment)
}

// CustomerPages streams every live customer, a page of up to 100 at a
// time in Stripe's order, with its metadata[crm_account_id]. The first
// error is yielded with a nil page and ends the stream.
func (c *Client) CustomerPages(ctx context.Context) iter.Seq2[[]stripesync.CustomerState, error] {
	page := func(after, _ string) ([]*stripe.Customer, bool, error) { return c.customerPage(ctx, after) }
	return mapPages(newestFirst(page, func(cu *stripe.Customer) string { return cu.ID }), func(cu *stripe.Customer) stripesync.CustomerState {
		return stripesync.CustomerState{ID: cu.ID, Deleted: cu.Deleted, CRMAccountID: cu.Metadata[stripesync.MetadataAccountID]}
	})
}

// customerPage fetches one page of the customer list after the customer
// after ("" for the first page).
func (c *Client) customerPage(ctx context.Context, after string) ([]*stripe.Customer, bool, error) {
	params := &stripe.CustomerListParams{}
	params.Limit = stripe.Int64(listPageSize)
	params.Single = true
	if after != "" {
		params.StartingAfter = stripe.String(after)
	}
	var list *stripe.CustomerList
	err := c.call(ctx, "list customers", func(ctx context.Context) error {
		params.Context = ctx
		it := c.api.Customers.List(params)
		if err := it.Err(); err != nil {
			return err
		}
		list = it.CustomerList()
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return list.Data, list.HasMore, nil
}

// mapPages converts each page of pages with convert.
func mapPages[T, U any](pages iter.Seq2[[]T, error], convert func(T) U) iter.Seq2[[]U, error] {
	return func(yield func([]U, error) bool) {
		for items, err := range pages {
			if err != nil {
				yield(nil, err)
				return
			}
			out := make([]U, len(items))
			for i, it := range items {
				out[i] = convert(it)
			}
			if !yield(out, nil) {
				return
			}
		}
	}
}
