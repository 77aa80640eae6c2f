package crm

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/stripesync/stripesync"
)

// Client is a typed Salesforce REST client: OAuth (client credentials or
// JWT bearer) with race-free re-authentication, SOQL streaming, sObject
// Collections and upsert by external id, with errors translated to
// *stripesync.Error. It implements stripesync.CRM and is safe for
// concurrent use.
type Client struct {
	cfg  Config
	auth *authenticator

	usageMu   sync.Mutex
	usageUsed int
	usageMax  int
}

var _ stripesync.CRM = (*Client)(nil)

// New validates cfg and returns a client. It makes no network call; the
// first request fetches a token.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg.withDefaults()}
	c.auth = &authenticator{fetch: c.fetchToken}
	return c, nil
}

// dataPath is the REST path of resource under the configured version,
// e.g. dataPath("query") = "/services/data/v62.0/query".
func (c *Client) dataPath(resource string) string {
	return "/services/data/v" + c.cfg.APIVersion + "/" + resource
}

// response is a successful (2xx) answer.
type response struct {
	status int
	body   []byte
}

// maxBody bounds a response body; a 2000-record page is a few MB.
const maxBody = 64 << 20

// do sends one logical request to path (relative to the instance URL,
// query string included). It fetches a session when there is none,
// re-authenticates once on INVALID_SESSION_ID and replays, and retries
// network errors, 5xx, non-JSON errors and UNABLE_TO_LOCK_ROW with
// jittered backoff. Every request the client makes is idempotent, which is
// what makes these retries safe. Errors are *stripesync.Error.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte, header http.Header) (*response, error) {
	reauthed := false
	attempt := 0
	// again waits before the next attempt, or returns the error to give up
	// with when the retries are spent or ctx is done.
	again := func(cause error) error {
		if ctx.Err() != nil || attempt >= c.cfg.MaxRetries {
			return cause
		}
		if err := c.backoff(ctx, op, attempt, cause); err != nil {
			return err
		}
		attempt++
		return nil
	}
	for {
		s, err := c.auth.session(ctx)
		switch {
		case ctx.Err() != nil:
			return nil, stripesync.WrapError(stripesync.EUNAVAILABLE, ctx.Err(), "salesforce %s", op)
		case err != nil && stripesync.CodeOf(err) != stripesync.EUNAVAILABLE:
			return nil, err
		case err != nil:
			if err := again(err); err != nil {
				return nil, err
			}
			continue
		}
		resp, err := c.send(ctx, s, method, path, body, header)
		if err != nil {
			c.observe("network_error", 0)
			if err := again(stripesync.WrapError(stripesync.EUNAVAILABLE, err, "salesforce %s", op)); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status >= 200 && resp.status < 300 {
			c.observe("ok", resp.status)
			return resp, nil
		}
		ae := parseAPIError(resp.status, resp.body)
		c.observe(outcome(ae), resp.status)
		if ae.Code == "INVALID_SESSION_ID" && !reauthed {
			reauthed = true
			c.auth.invalidate(s.gen)
			c.cfg.Logger.Info("salesforce session expired; renewing", "op", op)
			continue
		}
		derr := domainError(op, ae)
		if _, retry := classify(ae); !retry {
			return nil, derr
		}
		if err := again(derr); err != nil {
			return nil, err
		}
	}
}

// send performs one HTTP exchange and reads the whole body.
func (c *Client) send(ctx context.Context, s *session, method, path string, body []byte, header http.Header) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.instanceURL+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	c.recordUsage(resp.Header.Get("Sforce-Limit-Info"))
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, body: data}, nil
}

// backoff waits before retry number attempt+1: RetryBaseDelay doubled per
// attempt, capped at 10 s, with equal jitter so that clients failing
// together do not retry together.
func (c *Client) backoff(ctx context.Context, op string, attempt int, cause error) error {
	d := min(c.cfg.RetryBaseDelay<<attempt, 10*time.Second)
	d = d/2 + rand.N(d/2+1)
	c.cfg.Logger.Warn("salesforce call failed; retrying", "op", op, "attempt", attempt+1,
		"delay_ms", d.Milliseconds(), "error", cause)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return stripesync.WrapError(stripesync.EUNAVAILABLE, ctx.Err(), "salesforce %s", op)
	}
}

func (c *Client) observe(outcome string, status int) {
	if c.cfg.OnCall != nil {
		c.cfg.OnCall(outcome, status)
	}
}
