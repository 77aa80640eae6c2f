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
	return func(yield func([]stripesync.Payment, error) bool) {
		after := ""
		for {
			items, more, err := c.paymentIntentPage(ctx, since, after, "")
			if err != nil {
				yield(nil, err)
				return
			}
			page := make([]stripesync.Payment, len(items))
			for i, pi := range items {
				page[i] = toPayment(pi)
			}
			if len(page) > 0 && !yield(page, nil) {
				return
			}
			if !more || len(items) == 0 {
				return
			}
			after = items[len(items)-1].ID
		}
	}
}

// CustomerPages streams every live customer, a page of up to 100 at a
// time in Stripe's order, with its metadata[crm_account_id]. The first
// error is yielded with a nil page and ends the stream.
func (c *Client) CustomerPages(ctx context.Context) iter.Seq2[[]stripesync.CustomerState, error] {
	return func(yield func([]stripesync.CustomerState, error) bool) {
		after := ""
		for {
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
				yield(nil, err)
				return
			}
			page := make([]stripesync.CustomerState, 0, len(list.Data))
			for _, cu := range list.Data {
				page = append(page, stripesync.CustomerState{
					ID: cu.ID, Deleted: cu.Deleted, CRMAccountID: cu.Metadata[stripesync.MetadataAccountID],
				})
			}
			if len(page) > 0 && !yield(page, nil) {
				return
			}
			if !list.HasMore || len(list.Data) == 0 {
				return
			}
			after = list.Data[len(list.Data)-1].ID
		}
	}
}
