package stripetest

import (
	"fmt"
	"net/http"
	"time"
)

// Connected accounts (Stripe Connect, Standard accounts): the registry
// that AddConnectedAccount fills, GET /v1/accounts/{id} and GET
// /v1/account, and the check that a Stripe-Account header names an
// account the platform may act for.
//
// Until the first AddConnectedAccount the registry is open: every
// well-formed acct_ id stands for a connected account whose charges and
// payouts are enabled, so tests that only need objects kept apart by
// Stripe-Account need no set-up. From the first AddConnectedAccount on, only
// registered accounts exist, as on Stripe: any other Stripe-Account is
// refused on every request with the 403 of an account the key has no
// access to.

// ConnectedAccount is a connected (Standard) account, as
// AddConnectedAccount registers it and GET /v1/accounts/{id} shows it.
// The zero value is an account that has not finished onboarding: nothing
// enabled, details not submitted.
type ConnectedAccount struct {
	ID               string // acct_…; "" makes one
	ChargesEnabled   bool
	PayoutsEnabled   bool
	DetailsSubmitted bool
	Country          string // ISO code; "" means US
	DefaultCurrency  string // "" means usd
	Email            string
	BusinessName     string // business_profile.name
	Created          time.Time
}

// platformAccountID is the emulator's own (platform) account, which GET
// /v1/account answers without Stripe-Account.
const platformAccountID = "acct_1StripetestPlatform"

// accountStore is the registry of connected accounts; the Server's mutex
// guards it.
type accountStore struct {
	byID map[string]*ConnectedAccount
}

// known reports whether a Stripe-Account of id may be acted for: any
// well-formed one while the registry is empty, else a registered one.
func (as *accountStore) known(id string) bool {
	return len(as.byID) == 0 || as.byID[id] != nil
}

// AddConnectedAccount registers a connected account and returns its id.
// Empty Country, DefaultCurrency and Created get US, usd and now. From the
// first call on, a Stripe-Account header (or a Go helper's Account) that
// names an account not registered is refused. The flags are reported only:
// an account whose charges are disabled is not stopped from charging.
func (s *Server) AddConnectedAccount(a ConnectedAccount) (string, error) {
	if a.ID == "" {
		a.ID = newID("acct_1")
	}
	if !accountRE.MatchString(a.ID) || a.ID == platformAccountID {
		return "", fmt.Errorf("stripetest: %q is not a connected account id (acct_…)", a.ID)
	}
	a.Country = cmpOr(a.Country, "US")
	a.DefaultCurrency = cmpOr(a.DefaultCurrency, "usd")
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Created.IsZero() {
		a.Created = s.clock()
	}
	if s.accounts.byID == nil {
		s.accounts.byID = map[string]*ConnectedAccount{}
	}
	if _, dup := s.accounts.byID[a.ID]; dup {
		return "", fmt.Errorf("stripetest: connected account %s exists already", a.ID)
	}
	s.accounts.byID[a.ID] = &a
	return a.ID, nil
}

// noAccess is Stripe's refusal of an account the key may not act for: a
// Stripe-Account header naming it (code account_invalid), or a retrieve
// of it (no code is documented there).
func noAccess(key, account, code string) *apiError {
	return invalidRequest(http.StatusForbidden, code, "",
		"The provided key '%s' does not have access to account '%s' (or that account does not exist). Application access may have been revoked.",
		maskKey(key), account)
}

// checkAccount refuses a Stripe-Account the platform may not act for.
func (s *Server) checkAccount(key, account string) *apiError {
	if account == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.accounts.known(account) {
		return noAccess(key, account, "account_invalid")
	}
	return nil
}

// accountFor is the Go helpers' (Pay, CompleteCheckout) version of the
// check. The caller holds s.mu.
func (s *Server) accountFor(account string) error {
	if account != "" && (!accountRE.MatchString(account) || !s.accounts.known(account)) {
		return fmt.Errorf("stripetest: no connected account %s", account)
	}
	return nil
}

func accountEndpoints() []endpoint {
	return []endpoint{
		{
			method: http.MethodGet, path: "/v1/accounts/{id}",
			params: withCommon(nil),
			check:  checkNoExpand,
			run:    (*Server).retrieveAccount,
		},
		{
			method: http.MethodGet, path: "/v1/account",
			params: withCommon(nil),
			check:  checkNoExpand,
			run:    (*Server).retrieveOwnAccount,
		},
	}
}

// retrieveAccount answers GET /v1/accounts/{id}: the platform sees its
// connected accounts and itself; with Stripe-Account, a connected account
// sees only itself. Any other id is the 403 Stripe answers for an account
// the key has no access to, whether or not it exists.
func (s *Server) retrieveAccount(c *call) (any, *apiError) {
	id := c.path["id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case c.scope.account != "" && id != c.scope.account,
		c.scope.account == "" && id != platformAccountID && (!accountRE.MatchString(id) || !s.accounts.known(id)):
		return nil, noAccess(c.key, id, "")
	}
	return s.renderAccount(id), nil
}

// retrieveOwnAccount answers GET /v1/account: the account the request acts
// for.
func (s *Server) retrieveOwnAccount(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renderAccount(cmpOr(c.scope.account, platformAccountID)), nil
}

// accountJSON is the Account object (API 2023-10-16) as a platform sees a
// Standard account; settings, company, individual and external accounts
// are left out.
type accountJSON struct {
	ID               string              `json:"id"`
	Object           string              `json:"object"`
	BusinessProfile  businessProfileJSON `json:"business_profile"`
	BusinessType     *string             `json:"business_type"`
	Capabilities     map[string]string   `json:"capabilities"`
	ChargesEnabled   bool                `json:"charges_enabled"`
	Controller       map[string]string   `json:"controller"`
	Country          string              `json:"country"`
	Created          int64               `json:"created"`
	DefaultCurrency  string              `json:"default_currency"`
	DetailsSubmitted bool                `json:"details_submitted"`
	Email            *string             `json:"email"`
	Metadata         map[string]string   `json:"metadata"`
	PayoutsEnabled   bool                `json:"payouts_enabled"`
	Requirements     requirementsJSON    `json:"requirements"`
	Type             string              `json:"type"`
}

type businessProfileJSON struct {
	MCC                *string `json:"mcc"`
	Name               *string `json:"name"`
	ProductDescription *string `json:"product_description"`
	SupportEmail       *string `json:"support_email"`
	SupportPhone       *string `json:"support_phone"`
	SupportURL         *string `json:"support_url"`
	URL                *string `json:"url"`
}

// requirementsJSON is the account's requirements hash. The emulator does
// not model what an account still owes: the lists are empty, and
// disabled_reason is requirements.past_due when charges are disabled
// (unverified).
type requirementsJSON struct {
	Alternatives        []any    `json:"alternatives"`
	CurrentDeadline     *int64   `json:"current_deadline"`
	CurrentlyDue        []string `json:"currently_due"`
	DisabledReason      *string  `json:"disabled_reason"`
	Errors              []any    `json:"errors"`
	EventuallyDue       []string `json:"eventually_due"`
	PastDue             []string `json:"past_due"`
	PendingVerification []string `json:"pending_verification"`
}

// renderAccount renders a registered account, the platform, or (while the
// registry is open) any well-formed id as an enabled account. Accounts are
// the same in both modes. The caller holds s.mu.
func (s *Server) renderAccount(id string) accountJSON {
	a, ok := s.accounts.byID[id]
	if !ok {
		a = &ConnectedAccount{ID: id, ChargesEnabled: true, PayoutsEnabled: true, DetailsSubmitted: true,
			Country: "US", DefaultCurrency: "usd", Created: s.started}
		if id == platformAccountID {
			a.BusinessName = s.business
		}
	}
	active := func(on bool) string {
		if on {
			return "active"
		}
		return "inactive"
	}
	out := accountJSON{
		ID: a.ID, Object: "account",
		BusinessProfile: businessProfileJSON{Name: nullable(a.BusinessName)},
		Capabilities:    map[string]string{"card_payments": active(a.ChargesEnabled), "transfers": active(a.PayoutsEnabled)},
		ChargesEnabled:  a.ChargesEnabled, Controller: map[string]string{"type": "account"},
		Country: a.Country, Created: a.Created.Unix(), DefaultCurrency: a.DefaultCurrency,
		DetailsSubmitted: a.DetailsSubmitted, Email: nullable(a.Email), Metadata: map[string]string{},
		PayoutsEnabled: a.PayoutsEnabled, Type: "standard",
		Requirements: requirementsJSON{
			Alternatives: []any{}, CurrentlyDue: []string{}, Errors: []any{}, EventuallyDue: []string{},
			PastDue: []string{}, PendingVerification: []string{},
		},
	}
	if !a.ChargesEnabled {
		out.Requirements.DisabledReason = nullable("requirements.past_due")
	}
	return out
}
