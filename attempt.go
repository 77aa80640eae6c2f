package stripesync

import "context"

type singleAttemptKey struct{}

// WithSingleAttempt marks ctx for a caller that retries on its own terms:
// an adapter makes one attempt and returns its error rather than retrying.
// The engine's event reads use it, because their breaker and backoff
// already pace retries across all events; retrying inside each read too
// would multiply the requests a Stripe outage costs.
func WithSingleAttempt(ctx context.Context) context.Context {
	return context.WithValue(ctx, singleAttemptKey{}, true)
}

// SingleAttempt reports whether ctx was marked by WithSingleAttempt.
func SingleAttempt(ctx context.Context) bool {
	v, _ := ctx.Value(singleAttemptKey{}).(bool)
	return v
}
