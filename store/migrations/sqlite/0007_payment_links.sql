-- Payment links: what the CRM's Payment_Link__c holds, and the link the
-- daemon last issued for the invoice, which it wants the field to show.
-- link_issued_at is NULL until a link is issued; link_url is '' after a
-- revocation (the field is then kept clear). Revocation times themselves
-- are the collection ledger's.

-- +goose Up
ALTER TABLE invoices ADD COLUMN crm_payment_link TEXT NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN link_url TEXT NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN link_issued_at INTEGER;
ALTER TABLE invoices ADD COLUMN link_expires_at INTEGER;

-- +goose Down
ALTER TABLE invoices DROP COLUMN link_expires_at;
ALTER TABLE invoices DROP COLUMN link_issued_at;
ALTER TABLE invoices DROP COLUMN link_url;
ALTER TABLE invoices DROP COLUMN crm_payment_link;
