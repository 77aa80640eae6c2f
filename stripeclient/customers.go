package stripeclient

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// maxIdempotencyKey is Stripe's limit on Idempotency-Key.
const maxIdempotencyKey = 255

// checkIdempotencyKey insists on a caller-made key: stripe-go would
// otherwise invent a random one per call, which protects nothing across a
// restart of the daemon.
func checkIdempotencyKey(key string) error {
	switch {
	case strings.TrimSpace(key) == "":
		return stripesync.Errorf(stripesync.EINVALID, "stripe: an idempotency key is required for every write")
	case len(key) > maxIdempotencyKey:
		return stripesync.Errorf(stripesync.EINVALID, "stripe: idempotency key is %d characters; Stripe allows %d", len(key), maxIdempotencyKey)
	}
	return nil
}

func checkCustomerID(id string) error {
	if strings.TrimSpace(id) == "" {
		return stripesync.Errorf(stripesync.EINVALID, "stripe: customer id is empty")
	}
	return nil
}

// CreateCustomer creates a customer with the daemon-owned fields (name,
// email, phone, address, metadata[crm_account_id]) and returns its cus_ id.
// Empty fields are left out. Retries reuse idempotencyKey, so at most one
// customer is created per key.
func (c *Client) CreateCustomer(ctx context.Context, cust stripesync.Customer, idempotencyKey string) (string, error) {
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return "", err
	}
	params := &stripe.CustomerParams{
		Name:  optional(cust.Name),
		Email: optional(cust.Email),
		Phone: optional(cust.Phone),
	}
	if a := cust.Address; a != (stripesync.Address{}) {
		params.Address = &stripe.AddressParams{
			Line1:      optional(a.Line1),
			City:       optional(a.City),
			State:      optional(a.State),
			PostalCode: optional(a.PostalCode),
			Country:    optional(a.Country),
		}
	}
	if cust.CRMAccountID != "" {
		params.AddMetadata(stripesync.MetadataAccountID, cust.CRMAccountID)
	}
	params.SetIdempotencyKey(idempotencyKey)

	var created *stripe.Customer
	err := c.call(ctx, opFor("create customer", cust.CRMAccountID), func(ctx context.Context) error {
		params.Context = ctx
		var err error
		created, err = c.api.Customers.New(params)
		return err
	})
	if err != nil {
		return "", err
	}
	return created.ID, nil
}

// UpdateCustomer overwrites the daemon-owned fields of customer id: every
// field is sent, and an empty one clears the value in Stripe. A deleted or
// missing customer is ENOTFOUND.
func (c *Client) UpdateCustomer(ctx context.Context, id string, cust stripesync.Customer, idempotencyKey string) error {
	if err := checkCustomerID(id); err != nil {
		return err
	}
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return err
	}
	params := &stripe.CustomerParams{
		Name:  stripe.String(cust.Name),
		Email: stripe.String(cust.Email),
		Phone: stripe.String(cust.Phone),
		Address: &stripe.AddressParams{
			Line1:      stripe.String(cust.Address.Line1),
			City:       stripe.String(cust.Address.City),
			State:      stripe.String(cust.Address.State),
			PostalCode: stripe.String(cust.Address.PostalCode),
			Country:    stripe.String(cust.Address.Country),
		},
	}
	params.AddMetadata(stripesync.MetadataAccountID, cust.CRMAccountID)
	params.SetIdempotencyKey(idempotencyKey)
	return c.call(ctx, "update customer "+id, func(ctx context.Context) error {
		params.Context = ctx
		_, err := c.api.Customers.Update(id, params)
		return err
	})
}

// Customer retrieves customer id. A deleted customer comes back with
// Deleted set (Stripe answers 200 for it); a missing one is ENOTFOUND.
func (c *Client) Customer(ctx context.Context, id string) (stripesync.CustomerState, error) {
	if err := checkCustomerID(id); err != nil {
		return stripesync.CustomerState{}, err
	}
	got, err := c.customer(ctx, id)
	if err != nil {
		return stripesync.CustomerState{}, err
	}
	return stripesync.CustomerState{
		ID:           got.ID,
		Deleted:      got.Deleted,
		CRMAccountID: got.Metadata[stripesync.MetadataAccountID],
	}, nil
}

// customer reads customer id as Stripe shows it.
func (c *Client) customer(ctx context.Context, id string) (*stripe.Customer, error) {
	// Params are never nil: stripe-go would then drop the context (and, on
	// writes, the Idempotency-Key).
	params := &stripe.CustomerParams{}
	var got *stripe.Customer
	err := c.call(ctx, "retrieve customer "+id, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.Customers.Get(id, params)
		return err
	})
	return got, err
}

// searchPageSize is the most customers one search page returns; more than
// one customer per CRM account is already a repair case.
const searchPageSize = 100

// FindCustomerByAccount returns the id of the live customer whose
// metadata[crm_account_id] is exactly crmAccountID, or "" when there is
// none. If several match (a past duplicate), the oldest wins, as the one
// most likely bound already. Stripe's search index lags writes by up to a
// minute, so this is a recovery path, not a read-after-write check.
func (c *Client) FindCustomerByAccount(ctx context.Context, crmAccountID string) (string, error) {
	if strings.TrimSpace(crmAccountID) == "" {
		return "", stripesync.Errorf(stripesync.EINVALID, "stripe: CRM account id is empty")
	}
	params := &stripe.CustomerSearchParams{}
	params.Query = fmt.Sprintf("metadata['%s']:'%s'", stripesync.MetadataAccountID, searchQuote(crmAccountID))
	params.Limit = stripe.Int64(searchPageSize)
	params.Single = true

	var found []*stripe.Customer
	var more bool
	err := c.call(ctx, opFor("search customers", crmAccountID), func(ctx context.Context) error {
		params.Context = ctx
		found = found[:0]
		it := c.api.Customers.Search(params)
		for it.Next() {
			found = append(found, it.Customer())
		}
		if err := it.Err(); err != nil {
			return err
		}
		more = it.Meta().HasMore
		return nil
	})
	if err != nil {
		return "", err
	}
	if more {
		c.log.Warn("more customers share one CRM account than one search page holds",
			"crm_id", crmAccountID, "page_size", searchPageSize)
	}
	// Search matching is case-insensitive; Salesforce ids are not.
	found = slices.DeleteFunc(found, func(cu *stripe.Customer) bool {
		return cu.Deleted || cu.Metadata[stripesync.MetadataAccountID] != crmAccountID
	})
	if len(found) == 0 {
		return "", nil
	}
	oldest := slices.MinFunc(found, func(a, b *stripe.Customer) int {
		return cmp.Or(cmp.Compare(a.Created, b.Created), cmp.Compare(a.ID, b.ID))
	})
	return oldest.ID, nil
}

// searchQuote escapes a value for a single-quoted Search API string.
func searchQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// optional is nil for "" so that create leaves empty fields out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return stripe.String(s)
}

func opFor(op, crmID string) string {
	if crmID == "" {
		return op
	}
	return op + " for account " + crmID
}
