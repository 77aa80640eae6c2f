package stripetest

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Charge is an emulated charge (one payment attempt of a PaymentIntent) as
// tests see it.
type Charge struct {
	ID       string
	Account  string
	Livemode bool

	Amount         int64 // minor units
	AmountRefunded int64
	Currency       string // lower case
	Customer       string
	PaymentIntent  string
	PaymentMethod  string
	// MethodType is payment_method_details.type: "card" or
	// "us_bank_account"; Brand is the card brand, Last4 the card's or the
	// bank account's last four digits.
	MethodType string
	Brand      string
	Last4      string
	MOTO       bool

	Status         string // succeeded, pending or failed
	Refunded       bool   // refunded in full
	Disputed       bool
	FailureCode    string
	FailureMessage string

	Description  string
	ReceiptEmail string
	Metadata     map[string]string
	Created      time.Time
}

type chargeRecord struct {
	Charge
	seq     int64
	method  testMethod
	txn     string // balance_transaction once it succeeded
	mandate string // the mandate of an ACH debit
	outcome *outcomeJSON
}

func (c Charge) clone() Charge {
	c.Metadata = maps.Clone(c.Metadata)
	return c
}

// newCharge records a new attempt of r with pm, pending until the caller
// settles its outcome. The PaymentIntent's metadata is copied onto it, as
// Stripe does.
func (s *Server) newCharge(r *intentRecord, pm *paymentMethod, moto bool) *chargeRecord {
	ch := &chargeRecord{
		seq:    s.pay.next(),
		method: pm.method,
		Charge: Charge{
			ID:            newID("ch_"),
			Account:       r.Account,
			Livemode:      r.Livemode,
			Amount:        r.Amount,
			Currency:      r.Currency,
			Customer:      r.Customer,
			PaymentIntent: r.ID,
			PaymentMethod: pm.id,
			MethodType:    pm.method.kind,
			Brand:         pm.method.brand,
			Last4:         pm.method.last4,
			MOTO:          moto && pm.method.kind == typeCardPM,
			Status:        "pending",
			Description:   r.Description,
			ReceiptEmail:  r.ReceiptEmail,
			Metadata:      maps.Clone(r.Metadata),
			Created:       s.clock(),
		},
	}
	if pm.method.kind == typeBankPM {
		ch.mandate = newID("mandate_")
	}
	s.pay.charges[ch.ID] = ch
	return ch
}

// succeed and fail settle a charge's outcome.
func (ch *chargeRecord) succeed() {
	ch.Status = "succeeded"
	ch.txn = newID("txn_")
	ch.outcome = &outcomeJSON{
		NetworkStatus: "approved_by_network", RiskLevel: "normal", RiskScore: 20,
		SellerMessage: "Payment complete.", Type: "authorized",
	}
}

func (ch *chargeRecord) fail(f *failure) {
	ch.Status = "failed"
	ch.FailureCode, ch.FailureMessage = f.code, f.message
	ch.outcome = &outcomeJSON{
		NetworkStatus: "declined_by_network", Reason: nullable(cmp.Or(f.declineCode, f.code)), RiskLevel: "normal",
		RiskScore: 20, SellerMessage: "The bank did not return any further details with this decline.",
		Type: "issuer_declined",
	}
	if f.blocked {
		// A Radar block never reaches the network (the wording is
		// unverified).
		ch.outcome = &outcomeJSON{
			NetworkStatus: "not_sent_to_network", Reason: nullable("highest_risk_level"), RiskLevel: "highest",
			RiskScore: 95, SellerMessage: "Stripe blocked this payment as too risky.", Type: "blocked",
		}
	}
}

func chargeEndpoints() []endpoint {
	return []endpoint{{
		method: http.MethodGet, path: "/v1/charges/{id}",
		params: withCommon(nil),
		check:  checkNoExpand,
		run:    (*Server).retrieveCharge,
	}}
}

func (s *Server) retrieveCharge(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.pay.charges[c.path["id"]]
	if !ok || !c.scope.sees(ch.Account, ch.Livemode) {
		return nil, noSuch("charge", c.path["id"])
	}
	return s.renderCharge(ch), nil
}

// Charges returns every charge of every scope, oldest first.
func (s *Server) Charges() []Charge {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := slices.Collect(maps.Values(s.pay.charges))
	slices.SortFunc(recs, func(a, b *chargeRecord) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Charge, len(recs))
	for i, r := range recs {
		out[i] = r.clone()
	}
	return out
}

// chargeJSON is the charge object as API version 2023-10-16 renders it
// (refunds are not included unless expanded).
type chargeJSON struct {
	ID                            string             `json:"id"`
	Object                        string             `json:"object"`
	Amount                        int64              `json:"amount"`
	AmountCaptured                int64              `json:"amount_captured"`
	AmountRefunded                int64              `json:"amount_refunded"`
	Application                   *string            `json:"application"`
	ApplicationFee                *string            `json:"application_fee"`
	ApplicationFeeAmount          *int64             `json:"application_fee_amount"`
	BalanceTransaction            *string            `json:"balance_transaction"`
	BillingDetails                billingDetailsJSON `json:"billing_details"`
	CalculatedStatementDescriptor *string            `json:"calculated_statement_descriptor"`
	Captured                      bool               `json:"captured"`
	Created                       int64              `json:"created"`
	Currency                      string             `json:"currency"`
	Customer                      *string            `json:"customer"`
	Description                   *string            `json:"description"`
	Disputed                      bool               `json:"disputed"`
	FailureBalanceTransaction     *string            `json:"failure_balance_transaction"`
	FailureCode                   *string            `json:"failure_code"`
	FailureMessage                *string            `json:"failure_message"`
	FraudDetails                  struct{}           `json:"fraud_details"`
	Invoice                       *string            `json:"invoice"`
	Livemode                      bool               `json:"livemode"`
	Metadata                      map[string]string  `json:"metadata"`
	OnBehalfOf                    *string            `json:"on_behalf_of"`
	Outcome                       *outcomeJSON       `json:"outcome"`
	Paid                          bool               `json:"paid"`
	PaymentIntent                 *string            `json:"payment_intent"`
	PaymentMethod                 *string            `json:"payment_method"`
	PaymentMethodDetails          pmDetailsJSON      `json:"payment_method_details"`
	ReceiptEmail                  *string            `json:"receipt_email"`
	ReceiptNumber                 *string            `json:"receipt_number"`
	ReceiptURL                    *string            `json:"receipt_url"`
	Refunded                      bool               `json:"refunded"`
	Review                        *string            `json:"review"`
	Shipping                      *struct{}          `json:"shipping"`
	SourceTransfer                *string            `json:"source_transfer"`
	StatementDescriptor           *string            `json:"statement_descriptor"`
	StatementDescriptorSuffix     *string            `json:"statement_descriptor_suffix"`
	Status                        string             `json:"status"`
	TransferData                  *struct{}          `json:"transfer_data"`
	TransferGroup                 *string            `json:"transfer_group"`
}

type outcomeJSON struct {
	NetworkStatus string  `json:"network_status"`
	Reason        *string `json:"reason"`
	RiskLevel     string  `json:"risk_level"`
	RiskScore     int     `json:"risk_score"`
	SellerMessage string  `json:"seller_message"`
	Type          string  `json:"type"`
}

type pmDetailsJSON struct {
	Card          *chargeCardJSON `json:"card,omitempty"`
	USBankAccount *chargeBankJSON `json:"us_bank_account,omitempty"`
	Type          string          `json:"type"`
}

type chargeCardJSON struct {
	Brand        string     `json:"brand"`
	Checks       checksJSON `json:"checks"`
	Country      string     `json:"country"`
	ExpMonth     int64      `json:"exp_month"`
	ExpYear      int64      `json:"exp_year"`
	Fingerprint  string     `json:"fingerprint"`
	Funding      string     `json:"funding"`
	Last4        string     `json:"last4"`
	MOTO         *bool      `json:"moto"`
	Network      string     `json:"network"`
	ThreeDSecure *struct{}  `json:"three_d_secure"`
	Wallet       *struct{}  `json:"wallet"`
}

type checksJSON struct {
	AddressLine1Check      *string `json:"address_line1_check"`
	AddressPostalCodeCheck *string `json:"address_postal_code_check"`
	CVCCheck               *string `json:"cvc_check"`
}

type chargeBankJSON struct {
	AccountHolderType string  `json:"account_holder_type"`
	AccountType       string  `json:"account_type"`
	BankName          string  `json:"bank_name"`
	Fingerprint       string  `json:"fingerprint"`
	Last4             string  `json:"last4"`
	Mandate           *string `json:"mandate"`
	PaymentReference  *string `json:"payment_reference"`
	RoutingNumber     string  `json:"routing_number"`
}

func (s *Server) renderCharge(ch *chargeRecord) chargeJSON {
	out := chargeJSON{
		ID:                 ch.ID,
		Object:             "charge",
		Amount:             ch.Amount,
		AmountRefunded:     ch.AmountRefunded,
		BalanceTransaction: nullable(ch.txn),
		Captured:           ch.Status != "failed",
		Created:            ch.Created.Unix(),
		Currency:           ch.Currency,
		Customer:           nullable(ch.Customer),
		Description:        nullable(ch.Description),
		Disputed:           ch.Disputed,
		FailureCode:        nullable(ch.FailureCode),
		FailureMessage:     nullable(ch.FailureMessage),
		Livemode:           ch.Livemode,
		Metadata:           maps.Clone(ch.Metadata),
		Outcome:            ch.outcome,
		Paid:               ch.Status == "succeeded",
		PaymentIntent:      nullable(ch.PaymentIntent),
		PaymentMethod:      nullable(ch.PaymentMethod),
		PaymentMethodDetails: pmDetailsJSON{
			Type: ch.MethodType,
		},
		ReceiptEmail: nullable(ch.ReceiptEmail),
		Refunded:     ch.Refunded,
		Status:       ch.Status,
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if out.Captured {
		out.AmountCaptured = ch.Amount
	}
	if ch.MethodType == typeCardPM {
		m, y := s.cardExpiry()
		card := &chargeCardJSON{
			Brand: ch.Brand, Country: "US", ExpMonth: m, ExpYear: y, Fingerprint: ch.method.fingerprint(),
			Funding: ch.method.funding, Last4: ch.Last4, Network: ch.Brand,
		}
		pass := "pass"
		card.Checks.CVCCheck = &pass
		if ch.MOTO {
			moto := true
			card.MOTO = &moto
		}
		out.PaymentMethodDetails.Card = card
		return out
	}
	out.PaymentMethodDetails.USBankAccount = &chargeBankJSON{
		AccountHolderType: "individual", AccountType: "checking", BankName: testBankName,
		Fingerprint: ch.method.fingerprint(), Last4: ch.Last4, Mandate: nullable(ch.mandate),
		RoutingNumber: testBankRouting,
	}
	return out
}
