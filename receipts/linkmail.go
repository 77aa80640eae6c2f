package receipts

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"strings"

	"github.com/stripesync/stripesync"
)

// linkHTML is the HTML alternative of a payment-link message. html/template
// escapes every value, the link included.
var linkHTML = template.Must(template.New("link").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>{{.Greeting}},</p>
<p>{{.Business}} sent you a link to pay invoice <strong>{{.Invoice}}</strong>.</p>
<table cellpadding="4">
<tr><td>Invoice number</td><td><strong>{{.Invoice}}</strong></td></tr>
<tr><td>Balance due</td><td><strong>{{.Balance}}</strong></td></tr>
{{- if .Due}}
<tr><td>Due date</td><td>{{.Due}}</td></tr>
{{- end}}
</table>
<p><a href="{{.URL}}">Pay invoice {{.Invoice}}</a></p>
<p>You can pay all of the balance or part of it, by card{{if .ACH}} or US bank account{{end}}.
The link works until {{.Expires}}.</p>
<p style="color: #666">If the button does not work, copy this address into your browser:<br>{{.URL}}</p>
{{- if .Email}}
<p>Questions about this invoice? Write to {{.Email}}.</p>
{{- end}}
<p>{{.Business}}</p>
</body></html>
`))

// linkView is what both forms of the message show.
type linkView struct {
	Greeting, Business, Invoice, Balance, Due, URL, Expires, Email string
	ACH                                                            bool
}

// LinkMessage is the e-mail that carries a payment link to the customer:
// the business, the invoice number, the balance, the due date and the
// link, in plain text and HTML. Its Message-ID derives from n.RequestID.
func LinkMessage(n stripesync.LinkNotice) (Message, error) {
	v := linkView{
		Greeting: "Hello",
		Business: oneLine(n.Business.Name),
		Invoice:  oneLine(n.InvoiceNumber),
		Balance:  n.Balance.String(),
		URL:      oneLine(n.URL),
		Expires:  n.ExpiresAt.UTC().Format("2 January 2006"),
		Email:    oneLine(n.Business.Email),
		ACH:      n.Balance.Currency == "USD",
	}
	if name := oneLine(n.CustomerName); name != "" {
		v.Greeting += " " + name
	}
	if !n.DueDate.IsZero() {
		v.Due = n.DueDate.UTC().Format("2 January 2006")
	}
	if v.Business == "" {
		v.Business = "We"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s,\n\n%s sent you a link to pay invoice %s.\n\n", v.Greeting, v.Business, v.Invoice)
	fmt.Fprintf(&b, "Invoice number:  %s\n", v.Invoice)
	fmt.Fprintf(&b, "Balance due:     %s\n", v.Balance)
	if v.Due != "" {
		fmt.Fprintf(&b, "Due date:        %s\n", v.Due)
	}
	fmt.Fprintf(&b, "\nPay here: %s\n\n", v.URL)
	fmt.Fprintf(&b, "You can pay all of the balance or part of it. The link works until %s.\n\n", v.Expires)
	if v.Email != "" {
		fmt.Fprintf(&b, "Questions about this invoice? Write to %s.\n\n", v.Email)
	}
	fmt.Fprintf(&b, "%s\n", v.Business)
	var html bytes.Buffer
	if err := linkHTML.Execute(&html, v); err != nil {
		return Message{}, stripesync.WrapError(stripesync.EINTERNAL, err, "mail: render the payment link message")
	}
	subject := fmt.Sprintf("Invoice %s: %s due", v.Invoice, v.Balance)
	if n.Business.Name != "" {
		subject = fmt.Sprintf("Invoice %s from %s: %s due", v.Invoice, v.Business, v.Balance)
	}
	return Message{
		To:        []string{n.CustomerEmail},
		Subject:   subject,
		Text:      b.String(),
		HTML:      html.String(),
		MessageID: "<link-" + fileToken(n.RequestID) + "@stripesync>",
	}, nil
}

// SendPaymentLink mails the payment link of n to n.CustomerEmail.
func (s Sender) SendPaymentLink(ctx context.Context, n stripesync.LinkNotice) error {
	msg, err := LinkMessage(n)
	if err != nil {
		return err
	}
	return s.Mailer.Send(ctx, msg)
}
