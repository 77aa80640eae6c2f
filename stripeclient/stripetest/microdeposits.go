package stripetest

import (
	"net/http"
	"slices"
	"time"
)

// microdeposits is the pending verification of a bank account that the
// customer entered by hand: Stripe sends micro-deposits and the
// PaymentIntent or SetupIntent waits in requires_action
// (next_action.type verify_with_microdeposits) until the customer reports
// them, on the hosted verification page or through verify_microdeposits.
type microdeposits struct {
	id       string // pacs_test_…, the hosted verification page's id
	intent   string // the pi_ or seti_ that waits
	attempts int    // failed attempts so far
	arrival  time.Time
	// state is "" while pending, then verified or failed; the page keeps
	// saying how it ended.
	state string
}

// Micro-deposit rules (https://docs.stripe.com/payments/ach-direct-debit):
// ten failed attempts fail the verification; the deposits arrive in one
// to two business days (the emulator says two days).
const (
	maxMicrodepositAttempts = 10
	microdepositArrival     = 48 * time.Hour
)

// The test values of https://docs.stripe.com/testing#non-card-payments.
var (
	microOK       = microValues{amounts: []string{"32", "45"}, code: "SM11AA"}
	microExceeded = microValues{amounts: []string{"10", "11"}, code: "SM33CC"}
	microTimeout  = microValues{amounts: []string{"40", "41"}, code: "SM44DD"}
)

// microValues are what the customer reports: two amounts in cents, or the
// six-character descriptor code of one deposit.
type microValues struct {
	amounts []string
	code    string
}

func (v microValues) is(want microValues) bool {
	if v.code != "" {
		return v.code == want.code
	}
	return slices.Equal(v.amounts, want.amounts)
}

// startMicrodeposits sends micro-deposits for intent. The caller holds s.mu.
func (s *Server) startMicrodeposits(intent string) *microdeposits {
	m := &microdeposits{id: newID("pacs_test_"), intent: intent, arrival: s.clock().Add(microdepositArrival)}
	s.pay.micro[m.id] = m
	return m
}

// needsMicrodeposits reports whether a PaymentIntent or SetupIntent
// confirmed with pm must first verify the bank account with
// micro-deposits: one the customer entered by hand on a hosted page
// (byHand), or one made from account numbers through the API that no
// verification has proved yet. The verification_method does not change
// it: without Financial Connections, which the emulator links only on its
// hosted pages, Stripe falls back to micro-deposits.
func needsMicrodeposits(pm *paymentMethod, byHand bool) bool {
	return pm.method.kind == typeBankPM && (byHand || pm.unverified)
}

// nextAction is the next_action of an intent in requires_action: the
// micro-deposits to verify, or else 3D Secure.
func (s *Server) nextAction(m *microdeposits) *nextActionJSON {
	if m == nil {
		return &nextActionJSON{Type: "use_stripe_sdk", UseStripeSDK: &struct{}{}}
	}
	return &nextActionJSON{Type: "verify_with_microdeposits", VerifyWithMicrodeposits: &verifyMicroJSON{
		ArrivalDate:           m.arrival.Unix(),
		HostedVerificationURL: s.pageURL("/microdeposit/" + m.id),
		MicrodepositType:      "descriptor_code",
	}}
}

// microFailure is why a verification ended without success.
var (
	microAttemptsExceeded = &failure{code: "payment_method_microdeposit_verification_attempts_exceeded",
		message: "You have exceeded the number of allowed verification attempts."}
	microTimedOut = &failure{code: "payment_method_microdeposit_verification_timeout",
		message: "Microdeposit verification timed out: the microdeposits were not verified within 10 days."}
)

// verify checks reported values. It returns ok when they match, or the
// failure that ends the verification (attempts exceeded, timeout), or an
// error for a mismatch that leaves attempts.
func (m *microdeposits) verify(v microValues) (ok bool, end *failure, aerr *apiError) {
	switch {
	case v.is(microOK):
		return true, nil, nil
	case v.is(microExceeded):
		return false, microAttemptsExceeded, nil
	case v.is(microTimeout):
		return false, microTimedOut, nil
	}
	m.attempts++
	if m.attempts >= maxMicrodepositAttempts {
		return false, microAttemptsExceeded, nil
	}
	left := maxMicrodepositAttempts - m.attempts
	if v.code != "" {
		return false, nil, invalidParam("payment_method_microdeposit_verification_descriptor_code_mismatch", "descriptor_code",
			"The verification code provided does not match the one sent to the bank account. You have %d verification attempts remaining.", left)
	}
	return false, nil, invalidParam("payment_method_microdeposit_verification_amounts_mismatch", "amounts",
		"The amounts provided do not match the amounts that were sent to the bank account. You have %d verification attempts remaining.", left)
}

var verifyMicroParams = withCommon(map[string]param{
	"amounts":         {kind: kList},
	"descriptor_code": {},
	"client_secret":   {},
})

func microdepositEndpoints() []endpoint {
	return []endpoint{
		{
			method: http.MethodPost, path: "/v1/payment_intents/{id}/verify_microdeposits",
			params: verifyMicroParams,
			check:  checkVerifyIntentMicro,
			run:    (*Server).verifyIntentMicro,
		},
		{
			method: http.MethodPost, path: "/v1/setup_intents/{id}/verify_microdeposits",
			params: verifyMicroParams,
			check:  checkVerifySetupMicro,
			run:    (*Server).verifySetupMicro,
		},
	}
}

// checkVerifyIntentMicro also takes expand[]=latest_charge, so that the
// charge the verified debit makes comes back with the PaymentIntent.
func checkVerifyIntentMicro(f form) *apiError {
	if _, err := microFrom(f); err != nil {
		return err
	}
	return checkIntentExpand(f)
}

func checkVerifySetupMicro(f form) *apiError {
	if _, err := microFrom(f); err != nil {
		return err
	}
	return checkNoExpand(f)
}

// microFrom reads amounts[] or descriptor_code.
func microFrom(f form) (microValues, *apiError) {
	amounts, _ := f["amounts"].([]string)
	code, _ := f.str("descriptor_code")
	switch {
	case len(amounts) > 0 && code != "":
		return microValues{}, invalidParam("", "amounts", "You may only specify one of these parameters: amounts, descriptor_code.")
	case code != "":
		if len(code) != 6 || code[:2] != "SM" {
			return microValues{}, invalidParam("", "descriptor_code",
				"Invalid descriptor_code: it must be the 6-character code starting with SM shown on the bank statement.")
		}
		return microValues{code: code}, nil
	case len(amounts) != 2:
		return microValues{}, invalidParam("", "amounts", "Invalid amounts: exactly 2 amounts are required.")
	}
	for _, a := range amounts {
		if err := checkScalar(kInt, "amounts", a); err != nil || a == "" {
			return microValues{}, invalidParam("parameter_invalid_integer", "amounts", "Invalid integer: %s", a)
		}
	}
	return microValues{amounts: amounts}, nil
}

func (s *Server) verifyIntentMicro(c *call) (any, *apiError) {
	v, _ := microFrom(c.params)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.intent(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.verifyIntentLocked(c.origin(), r, v); aerr != nil {
		return nil, aerr
	}
	return s.renderIntent(r, s.expandFor(c.params)), nil
}

// verifyIntentLocked verifies r's micro-deposits: on success the account
// counts as verified from then on and the debit starts (processing); a
// failed verification fails the PaymentIntent, and the 400 that says so
// carries it. The caller holds s.mu.
func (s *Server) verifyIntentLocked(o origin, r *intentRecord, v microValues) *apiError {
	if r.Status != piRequiresAction || r.micro == nil {
		return invalidParam("payment_intent_unexpected_state", "",
			"This PaymentIntent's microdeposits cannot be verified because it has a status of %s and has no microdeposits to verify.", r.Status)
	}
	ok, end, aerr := r.micro.verify(v)
	if aerr != nil {
		return aerr
	}
	m := r.micro
	r.micro = nil
	m.state = "verified"
	if !ok {
		m.state = "failed"
	}
	pm := s.pay.methods[r.PaymentMethod]
	sc := scope{account: r.Account, livemode: r.Livemode}
	if !ok {
		s.failIntent(r, pm, &PaymentError{Type: typeInvalidRequest, Code: end.code, Message: end.message})
		s.emit(sc, o, "payment_intent.payment_failed", s.renderIntent(r, nil), nil)
		e := invalidParam(end.code, "", "%s", end.message)
		e.PaymentIntent = s.renderIntent(r, nil)
		return e
	}
	pm.unverified = false
	return s.attempt(o, r, confirmation{pm: pm, mandate: true})
}

// verifyLocked verifies the micro-deposits of the PaymentIntent or
// SetupIntent m belongs to. The caller holds s.mu.
func (s *Server) verifyLocked(m *microdeposits, v microValues) *apiError {
	if r, ok := s.pay.intents[m.intent]; ok {
		return s.verifyIntentLocked(origin{}, r, v)
	}
	if si, ok := s.pay.setups[m.intent]; ok {
		return s.verifySetupLocked(origin{}, si, v)
	}
	return invalidRequest(http.StatusNotFound, "resource_missing", "", "stripetest: %s verifies nothing", m.id)
}
