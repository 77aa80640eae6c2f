package stripetest

import "strings"

// endpoint is one API operation. Resources declare theirs in their own file
// and the server routes to them; the pipeline (auth, rate limit, faults,
// decoding, idempotency) is the same for all.
type endpoint struct {
	method string
	path   string // "/v1/customers/{id}": {name} matches one non-empty segment
	params map[string]param
	// notEmulated lists parameters Stripe accepts here that the emulator
	// does not implement; they are refused with emulator_unsupported.
	notEmulated []string
	// check validates the decoded parameters before the idempotency layer;
	// its errors are never saved under the key.
	check func(form) *apiError
	// run executes the request and returns the JSON body to send with 200,
	// or an error (saved under the key, since the request ran).
	run func(s *Server, c *call) (any, *apiError)
	// publishable endpoints also take a publishable key (pk_…), which a
	// browser holds: Stripe.js calls them directly. All others refuse it
	// with secret_key_required.
	publishable bool
}

// call is one request as a resource sees it.
type call struct {
	scope scope
	// key is the API key, for the errors that show it masked.
	key    string
	params form
	path   map[string]string
	// requestID and idemKey identify the request in the events it causes
	// (an event's request.id and request.idempotency_key).
	requestID string
	idemKey   string
	// publishable is set when the request came with a publishable key,
	// for the endpoints that take one but not for every use.
	publishable bool
}

// origin is what an event records about the request that caused it.
func (c *call) origin() origin { return origin{requestID: c.requestID, idemKey: c.idemKey} }

func (e *endpoint) match(method, path string) (map[string]string, int, bool) {
	if method != e.method {
		return nil, 0, false
	}
	want := strings.Split(strings.Trim(e.path, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	if len(want) != len(got) {
		return nil, 0, false
	}
	var vars map[string]string
	wild := 0
	for i, w := range want {
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
			if got[i] == "" {
				return nil, 0, false
			}
			if vars == nil {
				vars = map[string]string{}
			}
			vars[w[1:len(w)-1]] = got[i]
			wild++
			continue
		}
		if w != got[i] {
			return nil, 0, false
		}
	}
	return vars, wild, true
}

// route finds the endpoint for a request; a literal segment beats a
// wildcard, so /v1/customers/search is not read as a customer id.
func (s *Server) route(method, path string) (*endpoint, map[string]string) {
	var best *endpoint
	var bestVars map[string]string
	bestWild := -1
	for i := range s.endpoints {
		e := &s.endpoints[i]
		vars, wild, ok := e.match(method, path)
		if ok && (best == nil || wild < bestWild) {
			best, bestVars, bestWild = e, vars, wild
		}
	}
	return best, bestVars
}

// withCommon adds the parameters every Stripe endpoint accepts.
func withCommon(spec map[string]param) map[string]param {
	out := map[string]param{"expand": {kind: kList}}
	for k, v := range spec {
		out[k] = v
	}
	return out
}
