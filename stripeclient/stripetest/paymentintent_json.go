package stripetest

import "maps"

// paymentIntentJSON is the PaymentIntent object as API version 2023-10-16
// renders it: latest_charge (an id, or the charge when expanded), no
// charges list.
type paymentIntentJSON struct {
	ID                                string            `json:"id"`
	Object                            string            `json:"object"`
	Amount                            int64             `json:"amount"`
	AmountCapturable                  int64             `json:"amount_capturable"`
	AmountDetails                     amountDetailsJSON `json:"amount_details"`
	AmountReceived                    int64             `json:"amount_received"`
	Application                       *string           `json:"application"`
	ApplicationFeeAmount              *int64            `json:"application_fee_amount"`
	AutomaticPaymentMethods           *apmJSON          `json:"automatic_payment_methods"`
	CanceledAt                        *int64            `json:"canceled_at"`
	CancellationReason                *string           `json:"cancellation_reason"`
	CaptureMethod                     string            `json:"capture_method"`
	ClientSecret                      string            `json:"client_secret"`
	ConfirmationMethod                string            `json:"confirmation_method"`
	Created                           int64             `json:"created"`
	Currency                          string            `json:"currency"`
	Customer                          *string           `json:"customer"`
	Description                       *string           `json:"description"`
	Invoice                           *string           `json:"invoice"`
	LastPaymentError                  *paymentErrorJSON `json:"last_payment_error"`
	LatestCharge                      any               `json:"latest_charge"`
	Livemode                          bool              `json:"livemode"`
	Metadata                          map[string]string `json:"metadata"`
	NextAction                        *nextActionJSON   `json:"next_action"`
	OnBehalfOf                        *string           `json:"on_behalf_of"`
	PaymentMethod                     *string           `json:"payment_method"`
	PaymentMethodConfigurationDetails *struct{}         `json:"payment_method_configuration_details"`
	PaymentMethodOptions              pmOptionsJSON     `json:"payment_method_options"`
	PaymentMethodTypes                []string          `json:"payment_method_types"`
	Processing                        *struct{}         `json:"processing"`
	ReceiptEmail                      *string           `json:"receipt_email"`
	Review                            *string           `json:"review"`
	SetupFutureUsage                  *string           `json:"setup_future_usage"`
	Shipping                          *struct{}         `json:"shipping"`
	Source                            *string           `json:"source"`
	StatementDescriptor               *string           `json:"statement_descriptor"`
	StatementDescriptorSuffix         *string           `json:"statement_descriptor_suffix"`
	Status                            string            `json:"status"`
	TransferData                      *struct{}         `json:"transfer_data"`
	TransferGroup                     *string           `json:"transfer_group"`
}

type amountDetailsJSON struct {
	Tip struct{} `json:"tip"`
}

type apmJSON struct {
	AllowRedirects string `json:"allow_redirects"`
	Enabled        bool   `json:"enabled"`
}

// paymentErrorJSON is last_payment_error: the error of the last failed
// attempt, with the method that failed.
type paymentErrorJSON struct {
	Charge        string             `json:"charge,omitempty"`
	Code          string             `json:"code,omitempty"`
	DeclineCode   string             `json:"decline_code,omitempty"`
	DocURL        string             `json:"doc_url,omitempty"`
	Message       string             `json:"message"`
	PaymentMethod *paymentMethodJSON `json:"payment_method,omitempty"`
	Type          string             `json:"type"`
}

// nextActionJSON is next_action: use_stripe_sdk for 3D Secure, or
// verify_with_microdeposits for a bank account entered by hand.
type nextActionJSON struct {
	Type                    string           `json:"type"`
	UseStripeSDK            *struct{}        `json:"use_stripe_sdk,omitempty"`
	VerifyWithMicrodeposits *verifyMicroJSON `json:"verify_with_microdeposits,omitempty"`
}

type verifyMicroJSON struct {
	ArrivalDate           int64  `json:"arrival_date"`
	HostedVerificationURL string `json:"hosted_verification_url"`
	MicrodepositType      string `json:"microdeposit_type"`
}

type pmOptionsJSON struct {
	Card          *pmOptionsCardJSON `json:"card,omitempty"`
	USBankAccount *pmOptionsBankJSON `json:"us_bank_account,omitempty"`
}

type pmOptionsCardJSON struct {
	Installments        *struct{} `json:"installments"`
	MandateOptions      *struct{} `json:"mandate_options"`
	Network             *string   `json:"network"`
	RequestThreeDSecure string    `json:"request_three_d_secure"`
}

type pmOptionsBankJSON struct {
	VerificationMethod string `json:"verification_method"`
}

// renderPaymentError renders last_payment_error (or a SetupIntent's
// last_setup_error) with the method that failed; nil is null.
func (s *Server) renderPaymentError(e *PaymentError, failed *paymentMethod) *paymentErrorJSON {
	if e == nil {
		return nil
	}
	out := &paymentErrorJSON{
		Charge: e.Charge, Code: e.Code, DeclineCode: e.DeclineCode, DocURL: docURL(e.Code),
		Message: e.Message, Type: e.Type,
	}
	if failed != nil {
		pm := s.renderMethod(failed)
		out.PaymentMethod = &pm
	}
	return out
}

// renderIntent renders r; exp["latest_charge"] expands the latest charge.
func (s *Server) renderIntent(r *intentRecord, exp map[string]bool) paymentIntentJSON {
	out := paymentIntentJSON{
		ID:                 r.ID,
		Object:             "payment_intent",
		Amount:             r.Amount,
		AmountReceived:     r.AmountReceived,
		CaptureMethod:      r.CaptureMethod,
		ClientSecret:       r.clientSecret,
		ConfirmationMethod: "automatic",
		Created:            r.Created.Unix(),
		Currency:           r.Currency,
		Customer:           nullable(r.Customer),
		Description:        nullable(r.Description),
		Livemode:           r.Livemode,
		Metadata:           maps.Clone(r.Metadata),
		PaymentMethod:      nullable(r.PaymentMethod),
		PaymentMethodTypes: append([]string{}, r.PaymentMethodTypes...),
		ReceiptEmail:       nullable(r.ReceiptEmail),
		SetupFutureUsage:   nullable(r.SetupFutureUsage),
		Status:             r.Status,
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if r.AutomaticPaymentMethods {
		out.AutomaticPaymentMethods = &apmJSON{AllowRedirects: r.allowRedirects, Enabled: true}
	}
	if r.Status == piCanceled {
		at := r.CanceledAt.Unix()
		out.CanceledAt = &at
		out.CancellationReason = nullable(r.CancellationReason)
	}
	out.LastPaymentError = s.renderPaymentError(r.LastPaymentError, r.failedMethod)
	if r.Status == piRequiresAction {
		out.NextAction = s.nextAction(r.micro)
	}
	for _, t := range r.PaymentMethodTypes {
		switch t {
		case typeCardPM:
			out.PaymentMethodOptions.Card = &pmOptionsCardJSON{RequestThreeDSecure: "automatic"}
		case typeBankPM:
			out.PaymentMethodOptions.USBankAccount = &pmOptionsBankJSON{VerificationMethod: r.verification}
		}
	}
	if ch, ok := s.pay.charges[r.LatestCharge]; ok {
		if exp["latest_charge"] {
			out.LatestCharge = s.renderCharge(ch)
		} else {
			out.LatestCharge = ch.ID
		}
	}
	return out
}
