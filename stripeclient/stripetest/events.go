package stripetest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Event is a recorded event as tests see it.
type Event struct {
	ID       string
	Type     string
	Account  string // the connected account, "" for the platform
	Livemode bool
	Created  time.Time
	// Payload is the event object exactly as webhooks deliver it and the
	// Events API returns it.
	Payload []byte
}

// eventStore keeps every event, oldest first; the Server's mutex guards it.
type eventStore struct {
	list []*Event
	byID map[string]*Event
}

// eventRetention is how far back Stripe's Events API reaches.
const eventRetention = 30 * 24 * time.Hour

// maxEvents bounds the events a long emulator run keeps (the newest); a
// run that big has outlived what a test reads back.
const maxEvents = 100_000

// maxEventTypes is Stripe's limit on types[] in an events list.
const maxEventTypes = 20

// origin is the request that caused a change; the zero value is a change
// Stripe made by itself (a settlement, a dispute, a Checkout payment).
type origin struct {
	requestID, idemKey string
}

type eventJSON struct {
	ID              string           `json:"id"`
	Object          string           `json:"object"`
	Account         string           `json:"account,omitempty"`
	APIVersion      string           `json:"api_version"`
	Created         int64            `json:"created"`
	Data            eventDataJSON    `json:"data"`
	Livemode        bool             `json:"livemode"`
	PendingWebhooks int              `json:"pending_webhooks"`
	Request         eventRequestJSON `json:"request"`
	Type            string           `json:"type"`
}

type eventDataJSON struct {
	Object             any            `json:"object"`
	PreviousAttributes map[string]any `json:"previous_attributes,omitempty"`
}

type eventRequestJSON struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// emit records an event about object (rendered now, so the event keeps the
// state of this moment) and hands it to webhook delivery. prev is
// data.previous_attributes for updates. The caller holds s.mu.
func (s *Server) emit(sc scope, o origin, typ string, object any, prev map[string]any) {
	es := &s.events
	if es.byID == nil {
		es.byID = map[string]*Event{}
	}
	rec := &Event{}
	rec.ID = newID("evt_")
	rec.Type = typ
	rec.Account = sc.account
	rec.Livemode = sc.livemode
	rec.Created = s.clock()
	pending := s.hooks.pendingPerEvent(*rec)
	rec.Payload = mustJSON(eventJSON{
		ID:              rec.ID,
		Object:          "event",
		Account:         sc.account,
		APIVersion:      APIVersion,
		Created:         rec.Created.Unix(),
		Data:            eventDataJSON{Object: object, PreviousAttributes: prev},
		Livemode:        sc.livemode,
		PendingWebhooks: pending,
		Request:         eventRequestJSON{ID: nullable(o.requestID), IdempotencyKey: nullable(o.idemKey)},
		Type:            typ,
	})
	if len(es.list) == maxEvents {
		for _, old := range es.list[:maxEvents/10] {
			delete(es.byID, old.ID)
		}
		es.list = slices.Delete(es.list, 0, maxEvents/10)
	}
	es.list = append(es.list, rec)
	es.byID[rec.ID] = rec
	s.hooks.publish(*rec)
}

// previousAttributes is data.previous_attributes: the fields of before
// that differ in after, with their old values. Nested objects (metadata,
// address) list only the keys that changed; a key that was added shows as
// null.
func previousAttributes(before, after any) map[string]any {
	return diffObjects(asObject(before), asObject(after))
}

func asObject(v any) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(mustJSON(v), &m); err != nil {
		panic("stripetest: object does not render as a JSON object: " + err.Error())
	}
	return m
}

func diffObjects(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, av := range after {
		bv, had := before[k]
		if had && reflect.DeepEqual(av, bv) {
			continue
		}
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok && bok {
			out[k] = diffObjects(bm, am)
			continue
		}
		out[k] = bv
	}
	for k, bv := range before {
		if _, ok := after[k]; !ok {
			out[k] = bv
		}
	}
	return out
}

// Events returns every recorded event of every scope, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events.list))
	for i, r := range s.events.list {
		out[i] = *r
		out[i].Payload = slices.Clone(r.Payload)
	}
	return out
}

func eventEndpoints() []endpoint {
	return []endpoint{
		{
			method: http.MethodGet, path: "/v1/events",
			params: withCommon(merge(listParams, map[string]param{
				"created":          {kind: kRange},
				"delivery_success": {kind: kBool},
				"type":             {},
				"types":            {kind: kList},
			})),
			check: checkEventList,
			run:   (*Server).listEvents,
		},
		{
			method: http.MethodGet, path: "/v1/events/{id}",
			params: withCommon(nil),
			run:    (*Server).retrieveEvent,
		},
	}
}

func checkEventList(f form) *apiError {
	if err := checkList(f); err != nil {
		return err
	}
	if err := checkNoExpand(f); err != nil {
		return err
	}
	types, _ := f["types"].([]string)
	if len(types) > maxEventTypes {
		return invalidParam("", "types", "Invalid array: types must contain at most %d elements.", maxEventTypes)
	}
	if t, _ := f.str("type"); t != "" && len(types) > 0 {
		return invalidParam("", "types", "You may only specify one of these parameters: type, types.")
	}
	return nil
}

// typeMatches applies the type filter: an exact name, or a prefix ending
// in * (payment_intent.*, charge.dispute.*, *).
func typeMatches(pattern, typ string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(typ, prefix)
	}
	return pattern == typ
}

func (s *Server) listEvents(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ, _ := c.params.str("type")
	types, _ := c.params["types"].([]string)
	created, filterCreated := c.params["created"]
	delivered, filterDelivered := c.params.str("delivery_success")
	oldest := s.clock().Add(-eventRetention)
	var items []*Event
	for i := len(s.events.list) - 1; i >= 0; i-- { // newest first
		r := s.events.list[i]
		switch {
		case !c.scope.sees(r.Account, r.Livemode), r.Created.Before(oldest):
			continue
		case typ != "" && !typeMatches(typ, r.Type):
			continue
		case len(types) > 0 && !slices.Contains(types, r.Type):
			continue
		case filterCreated && !inRange(created, r.Created.Unix()):
			continue
		case filterDelivered && delivered != "" && (delivered == "true") != (s.hooks.unacknowledged(r.ID) == 0):
			continue
		}
		items = append(items, r)
	}
	page, more, aerr := paginate(items, func(r *Event) string { return r.ID }, c.params, "event")
	if aerr != nil {
		return nil, aerr
	}
	out := &listObject{Object: "list", URL: "/v1/events", HasMore: more, Data: []any{}}
	for _, r := range page {
		out.Data = append(out.Data, json.RawMessage(r.Payload))
	}
	return out, nil
}

func (s *Server) retrieveEvent(c *call) (any, *apiError) {
	if err := checkNoExpand(c.params); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.events.byID[c.path["id"]]
	if !ok || !c.scope.sees(r.Account, r.Livemode) || r.Created.Before(s.clock().Add(-eventRetention)) {
		return nil, noSuch("event", c.path["id"])
	}
	return json.RawMessage(r.Payload), nil
}
