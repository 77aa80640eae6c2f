package stripetest

import (
	"maps"
	"slices"
)

// customerJSON is the customer object as API version 2023-10-16 renders it.
type customerJSON struct {
	ID                  string              `json:"id"`
	Object              string              `json:"object"`
	Address             *addressJSON        `json:"address"`
	Balance             int64               `json:"balance"`
	Created             int64               `json:"created"`
	Currency            *string             `json:"currency"`
	DefaultSource       *string             `json:"default_source"`
	Delinquent          bool                `json:"delinquent"`
	Description         *string             `json:"description"`
	Discount            *struct{}           `json:"discount"`
	Email               *string             `json:"email"`
	InvoicePrefix       string              `json:"invoice_prefix"`
	InvoiceSettings     invoiceSettingsJSON `json:"invoice_settings"`
	Livemode            bool                `json:"livemode"`
	Metadata            map[string]string   `json:"metadata"`
	Name                *string             `json:"name"`
	NextInvoiceSequence int64               `json:"next_invoice_sequence"`
	Phone               *string             `json:"phone"`
	PreferredLocales    []string            `json:"preferred_locales"`
	Shipping            *struct{}           `json:"shipping"`
	TaxExempt           string              `json:"tax_exempt"`
	TestClock           *string             `json:"test_clock"`
}

type addressJSON struct {
	City       *string `json:"city"`
	Country    *string `json:"country"`
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	PostalCode *string `json:"postal_code"`
	State      *string `json:"state"`
}

type invoiceSettingsJSON struct {
	CustomFields         *struct{} `json:"custom_fields"`
	DefaultPaymentMethod *string   `json:"default_payment_method"`
	Footer               *string   `json:"footer"`
	RenderingOptions     *struct{} `json:"rendering_options"`
}

// deletedJSON is what Stripe returns for a deleted object.
type deletedJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// nullable renders "" as JSON null, as Stripe does for unset strings.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func renderCustomer(r *customerRecord) any {
	if r.Deleted {
		return deletedJSON{ID: r.ID, Object: "customer", Deleted: true}
	}
	c := r.Customer
	out := customerJSON{
		ID:                  c.ID,
		Object:              "customer",
		Balance:             c.Balance,
		Created:             c.Created.Unix(),
		Description:         nullable(c.Description),
		Email:               nullable(c.Email),
		InvoicePrefix:       c.InvoicePrefix,
		Livemode:            c.Livemode,
		Metadata:            maps.Clone(c.Metadata),
		Name:                nullable(c.Name),
		NextInvoiceSequence: c.NextInvoiceSequence,
		Phone:               nullable(c.Phone),
		PreferredLocales:    slices.Clone(c.PreferredLocales),
		TaxExempt:           c.TaxExempt,
	}
	out.InvoiceSettings.DefaultPaymentMethod = nullable(c.DefaultPaymentMethod)
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if out.PreferredLocales == nil {
		out.PreferredLocales = []string{}
	}
	if a := c.Address; a != (Address{}) {
		out.Address = &addressJSON{
			City: nullable(a.City), Country: nullable(a.Country), Line1: nullable(a.Line1),
			Line2: nullable(a.Line2), PostalCode: nullable(a.PostalCode), State: nullable(a.State),
		}
	}
	return out
}
