package sync

import (
	"context"
	"strings"

	"github.com/stripesync/stripesync"
)

// collectionEvent applies what an event means for collection, before the
// payment it may also concern is applied: a Checkout Session that
// completed or expired releases its reservation, and a change to a
// customer's saved methods (made in Checkout, the Billing Portal or the
// Dashboard) refreshes the ledger's copy. Both are idempotent, so a
// redelivery or the pull's replay costs nothing but a read.
func (e *Engine) collectionEvent(ctx context.Context, ev stripesync.Event) error {
	if e.collect == nil {
		return nil
	}
	switch {
	case strings.HasPrefix(ev.Type, "checkout.session."):
		if s, ok := e.collect.collector.EventSession(ev); ok {
			return e.collect.SessionEvent(ctx, s)
		}
	case strings.HasPrefix(ev.Type, "payment_method.") || ev.Type == "customer.updated":
		if id, ok := e.collect.collector.EventMethodCustomer(ev); ok {
			return e.collect.RefreshMethods(ctx, id)
		}
	}
	return nil
}
