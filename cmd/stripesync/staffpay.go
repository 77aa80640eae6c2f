package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stripesync/stripesync"
	syncer "github.com/stripesync/stripesync/sync"
)

// cliStaff is who the audit trail says took a payment from the command
// line: the operator's login, marked as such.
func cliStaff(getenv func(string) string) string {
	if u := getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// cmdPay takes a phone payment from the command line, through the same
// code and overpay guard as the staff API: a saved (or Stripe.js-made)
// payment method, or US bank details verified by micro-deposits later
// with `stripesync verify`. The CRM is written before it returns.
func cmdPay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	invoice := fs.String("invoice", "", "the CRM invoice id (Invoice__c)")
	amount := fs.String("amount", "", "the amount in the invoice's currency, such as 25.00")
	method := fs.String("payment-method", "", "a payment method of the customer (pm_…)")
	routing := fs.String("ach-routing", "", "US bank routing number (9 digits)")
	account := fs.String("ach-account", "", "US bank account number")
	holderType := fs.String("holder-type", stripesync.HolderIndividual, "account holder type: individual or company")
	holderName := fs.String("holder-name", "", "account holder's name")
	key := fs.String("idempotency-key", "", "retry an earlier run under its key (printed by that run) instead of paying again")
	cfg, err := loadConfig(fs, args, getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	bank := *routing != "" || *account != "" || *holderName != ""
	if *invoice == "" || *amount == "" || fs.NArg() > 0 || (*method == "") == !bank {
		return fmt.Errorf("%w: stripesync pay --invoice ID --amount 25.00 (--payment-method pm_… | "+
			"--ach-routing … --ach-account … --holder-type individual|company --holder-name …)", errUsage)
	}
	if *key == "" {
		*key = "cli-" + rand.Text()
	}
	r := syncer.StaffPayRequest{
		InvoiceID: *invoice, Staff: cliStaff(getenv), RequestKey: *key, Amount: *amount,
		PaymentMethodID: *method, MOTO: cfg.MOTO,
	}
	if bank {
		r.Bank = &stripesync.BankAccountDetails{RoutingNumber: *routing, AccountNumber: *account, HolderType: *holderType, HolderName: *holderName}
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(stderr, "idempotency key %s (pass --idempotency-key to retry this payment)\n", *key)
	p, err := a.collection.StaffPay(ctx, r)
	if err != nil {
		return err
	}
	printPayment(stdout, p.Payment)
	if p.Status == stripesync.PaymentAwaitingVerification {
		fmt.Fprintf(stdout, "%s\nverify with: stripesync verify --payment-method %s --amounts A,B\n", stripesync.NextStepVerify, p.PaymentMethodID)
	}
	writeBack(ctx, a, stderr)
	return nil
}

// cmdVerify reports the micro-deposits a customer read back for a bank
// account taken by `stripesync pay` or the staff API.
func cmdVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	method := fs.String("payment-method", "", "the bank account's payment method (pm_…), as pay printed it")
	amounts := fs.String("amounts", "", "the two micro-deposit amounts in cents, such as 32,45")
	code := fs.String("code", "", "the descriptor code of the micro-deposit, such as SM11AA")
	cfg, err := loadConfig(fs, args, getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	if *method == "" || fs.NArg() > 0 || (*amounts == "") == (*code == "") {
		return fmt.Errorf("%w: stripesync verify --payment-method pm_… (--amounts 32,45 | --code SM11AA)", errUsage)
	}
	v := stripesync.MicrodepositVerification{DescriptorCode: *code}
	if *amounts != "" {
		for _, s := range strings.Split(*amounts, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return fmt.Errorf("%w: --amounts takes cents separated by a comma, such as 32,45", errUsage)
			}
			v.Amounts = append(v.Amounts, n)
		}
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.collection.VerifyBank(ctx, syncer.VerifyRequest{Staff: cliStaff(getenv), PaymentMethodID: *method, Verification: v})
	if err != nil {
		return err
	}
	printPayment(stdout, p)
	writeBack(ctx, a, stderr)
	return nil
}

func printPayment(w io.Writer, p stripesync.Payment) {
	fmt.Fprintf(w, "%s %s %s %s\n", p.ID, p.Amount, p.Status, p.MethodDetail)
}

// writeBack writes the payment to the CRM now; the daemon retries what
// this could not write.
func writeBack(ctx context.Context, a *app, stderr io.Writer) {
	if _, err := a.engine.WriteBack(ctx); err != nil {
		fmt.Fprintf(stderr, "the payment is not in the CRM yet (the daemon retries): %v\n", err)
	}
}
