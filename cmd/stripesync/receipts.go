package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/stripesync/stripesync/receipts"
)

// receiptLinks makes and reads the signed download links of receipts.
type receiptLinks struct {
	signer    *receipts.Signer
	publicURL string
}

// newReceiptLinks uses the configured key, or a random one (links then
// last as long as the process).
func newReceiptLinks(key, publicURL string) (*receiptLinks, bool, error) {
	ephemeral := key == ""
	k := []byte(key)
	if ephemeral {
		k = make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, false, err
		}
	}
	s, err := receipts.NewSigner(k)
	if err != nil {
		return nil, false, err
	}
	return &receiptLinks{signer: s, publicURL: publicURL}, ephemeral, nil
}

func (l *receiptLinks) URL(paymentID string) string {
	return l.publicURL + "/receipts/" + l.signer.Token(paymentID) + ".pdf"
}

// receiptPDF serves GET /receipts/{token}.pdf.
func (a *app) receiptPDF(ctx context.Context, token string) ([]byte, error) {
	id, err := a.links.signer.PaymentID(token)
	if err != nil {
		return nil, err
	}
	r, err := a.engine.Receipt(ctx, id)
	if err != nil {
		return nil, err
	}
	return receipts.Render(r)
}

func cmdReceipt(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("receipt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	payment := fs.String("payment", "", "the PaymentIntent id (pi_…) of a succeeded payment")
	out := fs.String("o", "", "write the PDF to this file")
	resend := fs.Bool("resend", false, "e-mail the receipt to the customer again")
	cfg, err := loadConfig(fs, args, getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	if *payment == "" {
		return fmt.Errorf("%w: stripesync receipt --payment pi_… [-o FILE | --resend]", errUsage)
	}
	if *resend && cfg.SMTPURL == "" {
		return fmt.Errorf("%w: --resend needs STRIPESYNC_SMTP_URL", errUsage)
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.engine.Receipt(ctx, *payment)
	if err != nil {
		return err
	}
	switch {
	case *out != "":
		pdf, err := receipts.Render(r)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, pdf, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "receipt %s for %s written to %s\n", r.Number, r.Amount, *out)
	case *resend:
		if err := a.receiptSender.SendReceipt(ctx, r, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "receipt %s sent to %s\n", r.Number, r.CustomerEmail)
	default:
		fmt.Fprintf(stdout, "receipt %s: %s paid %s by %s; balance left %s\n", r.Number, r.CustomerName, r.Amount, r.Method, r.BalanceLeft)
		fmt.Fprintf(stdout, "download: %s\n", a.links.URL(r.PaymentID))
	}
	return nil
}
