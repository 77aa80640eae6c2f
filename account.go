package stripesync

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Policy says how an Account maps to a Stripe customer (the CRM field
// Stripe_Mapping__c).
type Policy string

// The mapping policies.
const (
	PolicyCreate   Policy = "Create"   // create (or keep updating) our own customer
	PolicyExisting Policy = "Existing" // bind to the cus_ id the CRM already holds, after verifying it exists
	PolicyIgnore   Policy = "Ignore"   // never touch Stripe for this account
)

// ParsePolicy reads a Stripe_Mapping__c value. Empty means the default,
// PolicyCreate; matching ignores case and surrounding space.
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "create":
		return PolicyCreate, nil
	case "existing":
		return PolicyExisting, nil
	case "ignore":
		return PolicyIgnore, nil
	}
	return "", Errorf(EINVALID, "unknown mapping policy %q (want Create, Existing or Ignore)", s)
}

// Address is a postal address as both systems carry it.
type Address struct {
	Line1      string
	City       string
	State      string
	PostalCode string
	Country    string
}

// Account is a CRM account as the daemon reads it.
type Account struct {
	ID       string // 18-character Salesforce id
	Name     string
	Phone    string
	Email    string // Billing_Email__c
	Address  Address
	Currency string // CurrencyIsoCode, upper case; may be empty
	Policy   Policy
	// StripeCustomerID is Stripe_Customer_Id__c as the CRM holds it now.
	StripeCustomerID string
	// SyncError is Stripe_Sync_Error__c as the CRM holds it now.
	SyncError string
	ModStamp  time.Time // SystemModstamp
	Deleted   bool      // IsDeleted (read through queryAll)
}

// Customer is the set of Stripe customer fields the daemon owns. Pushing
// sends all of them, so an emptied CRM field empties the Stripe field.
type Customer struct {
	Name    string
	Email   string
	Phone   string
	Address Address
	// CRMAccountID is stored as metadata[crm_account_id]; it lets the
	// daemon find a customer it created even when its ledger lost the link.
	CRMAccountID string
}

// MetadataAccountID is the Stripe metadata key that carries the CRM id.
const MetadataAccountID = "crm_account_id"

// Customer returns the Stripe customer fields the account maps to.
func (a Account) Customer() Customer {
	return Customer{
		Name:         a.Name,
		Email:        a.Email,
		Phone:        a.Phone,
		Address:      a.Address,
		CRMAccountID: a.ID,
	}
}

// Hash is a content hash of the customer fields. The ledger keeps the hash of
// the last push, so an account whose pushed fields did not change costs no
// Stripe call.
func (c Customer) Hash() string {
	h := sha256.New()
	for _, f := range []string{
		c.Name, c.Email, c.Phone,
		c.Address.Line1, c.Address.City, c.Address.State, c.Address.PostalCode, c.Address.Country,
		c.CRMAccountID,
	} {
		// Length-prefix every field so that ("ab","c") and ("a","bc") differ.
		h.Write([]byte{byte(len(f) >> 8), byte(len(f))})
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// CustomerState is what Stripe says about a customer when asked.
type CustomerState struct {
	ID           string
	Deleted      bool
	CRMAccountID string // metadata[crm_account_id], "" when absent
}

// AccountSyncUpdate is the write-back to one CRM account after a push.
type AccountSyncUpdate struct {
	AccountID        string
	StripeCustomerID string    // Stripe_Customer_Id__c; "" leaves it as it is
	SyncedAt         time.Time // Stripe_Synced_At__c; zero leaves it as it is
	SyncError        string    // Stripe_Sync_Error__c; "" clears it
}
