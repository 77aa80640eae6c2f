package stripetest

// The checks of the PaymentIntent endpoints' parameters, with the
// errors Stripe gives, before anything is created or changed.

import (
	"net/http"
	"strings"

	"github.com/stripesync/stripesync"
)

// The 2023-08-16 rule (automatic payment methods on by default) and the
// error Stripe gives when a confirmation breaks it.
const msgReturnURLRequired = "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents."

// maxAmount is Stripe's eight-digit limit on amounts.
const maxAmount = 99999999

func missingParam(name string) *apiError {
	return invalidParam("parameter_missing", name, "Missing required param: %s.", name)
}

// formatAmount writes an amount as Stripe's messages do: "$0.50" for USD,
// "0.50 eur" otherwise.
func formatAmount(amount int64, currency string) string {
	m := stripesync.Money{Amount: amount, Currency: strings.ToUpper(currency)}
	if currency == "usd" {
		return "$" + m.Decimal()
	}
	return m.Decimal() + " " + currency
}

func checkCreateIntent(f form) *apiError {
	amount, ok := f.str("amount")
	if !ok || amount == "" {
		return missingParam("amount")
	}
	cur, ok := f.str("currency")
	if !ok || cur == "" {
		return missingParam("currency")
	}
	code, err := stripesync.NormalizeCurrency(cur)
	if err != nil {
		return invalidParam("", "currency", "Invalid currency: %s. Stripe currently supports these currencies: usd, eur, gbp, …", cur)
	}
	n := f.int("amount", 0)
	if n < 1 {
		return invalidParam("parameter_invalid_integer", "amount", "This value must be greater than or equal to 1.")
	}
	lower := strings.ToLower(code)
	if min, ok := stripesync.MinimumCharge(code); ok && n < min.Amount {
		return invalidParam("amount_too_small", "amount", "Amount must be at least %s %s", formatAmount(min.Amount, lower), lower)
	}
	if n > maxAmount {
		return invalidParam("amount_too_large", "amount", "Amount must be no more than %s", formatAmount(maxAmount, lower))
	}
	types, _ := f["payment_method_types"].([]string)
	for _, t := range types {
		if t != typeCardPM && t != typeBankPM {
			return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "payment_method_types",
				"stripetest: payment method type %q is not emulated (card and us_bank_account are)", t)
		}
	}
	if apm, ok := f["automatic_payment_methods"].(form); ok {
		if e, _ := apm.str("enabled"); e == "" {
			return missingParam("automatic_payment_methods[enabled]")
		}
		if e, _ := apm.str("enabled"); e == "true" && len(types) > 0 {
			return invalidParam("", "automatic_payment_methods",
				"You may only specify one of these parameters: automatic_payment_methods, payment_method_types.")
		}
		switch r, _ := apm.str("allow_redirects"); r {
		case "", "always", "never":
		default:
			return invalidParam("", "automatic_payment_methods[allow_redirects]",
				"Invalid automatic_payment_methods[allow_redirects]: must be one of always or never")
		}
	}
	switch m, _ := f.str("capture_method"); m {
	case "", "automatic", "automatic_async":
	case "manual":
		return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "capture_method",
			"stripetest: capture_method=manual is not emulated")
	default:
		return invalidParam("", "capture_method",
			"Invalid capture_method: must be one of automatic, automatic_async, or manual")
	}
	if c, _ := f.str("confirm"); c != "true" {
		for _, name := range []string{"off_session", "mandate_data", "return_url"} {
			if _, sent := f[name]; sent {
				return invalidParam("", name, "You can only use `%s` when `confirm` is set to true.", name)
			}
		}
	}
	if err := checkMetadata(f); err != nil {
		return err
	}
	if err := checkConfirmation(f); err != nil {
		return err
	}
	return checkIntentExpand(f)
}

// checkConfirmation validates the confirmation parameters.
func checkConfirmation(f form) *apiError {
	switch u, _ := f.str("setup_future_usage"); u {
	case "", "on_session", "off_session":
	default:
		return invalidParam("", "setup_future_usage", "Invalid setup_future_usage: must be one of on_session or off_session")
	}
	if e, _ := f.str("receipt_email"); e != "" && !validEmail(e) {
		return invalidParam("email_invalid", "receipt_email", "Invalid email address: %s", e)
	}
	if opts, ok := f["payment_method_options"].(form); ok {
		if bank, ok := opts["us_bank_account"].(form); ok {
			switch v, _ := bank.str("verification_method"); v {
			case "", "automatic", "instant", "microdeposits":
			default:
				return invalidParam("", "payment_method_options[us_bank_account][verification_method]",
					"Invalid verification_method: must be one of automatic, instant, or microdeposits")
			}
		}
	}
	if md, ok := f["mandate_data"].(form); ok {
		ca, _ := md["customer_acceptance"].(form)
		switch t, _ := ca.str("type"); t {
		case "online", "offline":
		case "":
			return missingParam("mandate_data[customer_acceptance][type]")
		default:
			return invalidParam("", "mandate_data[customer_acceptance][type]",
				"Invalid mandate_data[customer_acceptance][type]: must be one of online or offline")
		}
	}
	return nil
}

func checkIntentExpand(f form) *apiError {
	_, err := expansions(f, piExpansions...)
	return err
}

func checkConfirmIntent(f form) *apiError {
	if err := checkConfirmation(f); err != nil {
		return err
	}
	return checkIntentExpand(f)
}

func checkUpdateIntent(f form) *apiError {
	if e, _ := f.str("receipt_email"); e != "" && !validEmail(e) {
		return invalidParam("email_invalid", "receipt_email", "Invalid email address: %s", e)
	}
	if err := checkMetadata(f); err != nil {
		return err
	}
	return checkIntentExpand(f)
}

func checkCancelIntent(f form) *apiError {
	switch r, _ := f.str("cancellation_reason"); r {
	case "", "duplicate", "fraudulent", "requested_by_customer", "abandoned":
	default:
		return invalidParam("", "cancellation_reason",
			"Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, or abandoned")
	}
	return checkIntentExpand(f)
}

func checkListIntents(f form) *apiError {
	if err := checkList(f); err != nil {
		return err
	}
	_, err := expansions(f, "data.latest_charge")
	return err
}
