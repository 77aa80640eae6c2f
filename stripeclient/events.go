package stripeclient

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/form"
	"github.com/stripesync/stripesync"
)

// eventTypes are the event types the engine acts on, and so the only ones
// Events asks Stripe for (types[] takes at most 20).
var eventTypes = []string{
	stripesync.EventPaymentIntentSucceeded,
	stripesync.EventPaymentIntentProcessing,
	stripesync.EventPaymentIntentFailed,
	stripesync.EventPaymentIntentCanceled,
	stripesync.EventChargeRefunded,
	stripesync.EventChargeDisputeCreated,
	stripesync.EventCheckoutCompleted,
	stripesync.EventCustomerDeleted,
}

// Events streams the events the engine acts on (the types named in package
// stripesync) created at or after since (to the second; zero means all
// Stripe keeps, 30 days), oldest first, each
// parsed as ParseEvent does with Payload the event's JSON. Pages are
// fetched as the caller iterates, one held at a time (see oldestFirst).
// The first error is yielded with a zero Event and ends the stream.
func (c *Client) Events(ctx context.Context, since time.Time) iter.Seq2[stripesync.Event, error] {
	return func(yield func(stripesync.Event, error) bool) {
		page := func(after, before string) ([]stripesync.Event, bool, error) {
			return c.eventPage(ctx, since, after, before)
		}
		oldestFirst(page, func(e stripesync.Event) string { return e.ID }, yield)
	}
}

// rawEventList is a page of the Events API with each event kept as raw
// JSON, so that the payload the ledger stores is Stripe's own bytes and
// each event is decoded once, by ParseEvent.
type rawEventList struct {
	stripe.APIResource
	HasMore bool              `json:"has_more"`
	Data    []json.RawMessage `json:"data"`
}

// eventPage fetches one page of events in Stripe's order (newest first).
func (c *Client) eventPage(ctx context.Context, since time.Time, after, before string) ([]stripesync.Event, bool, error) {
	params := &stripe.EventListParams{Types: stripe.StringSlice(eventTypes)}
	params.Limit = stripe.Int64(listPageSize)
	if s := since.Unix(); s > 0 {
		params.CreatedRange = &stripe.RangeQueryParams{GreaterThanOrEqual: s}
	}
	if after != "" {
		params.StartingAfter = stripe.String(after)
	}
	if before != "" {
		params.EndingBefore = stripe.String(before)
	}
	values := &form.Values{}
	form.AppendTo(values, params)
	var page rawEventList
	err := c.call(ctx, "list events", func(ctx context.Context) error {
		params.Context = ctx
		page = rawEventList{}
		return c.api.Events.B.CallRaw(http.MethodGet, "/v1/events", c.api.Events.Key, values, params.GetParams(), &page)
	})
	if err != nil {
		return nil, false, err
	}
	events := make([]stripesync.Event, 0, len(page.Data))
	for _, raw := range page.Data {
		e, err := ParseEvent(raw)
		if err != nil {
			return nil, false, stripesync.WrapError(stripesync.EINTERNAL, err, "stripe: list events: Stripe returned an event that does not parse")
		}
		events = append(events, e)
	}
	return events, page.HasMore, nil
}
