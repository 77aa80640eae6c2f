-- Receipts without the CRM, and mailed once.
--
-- account_contacts keeps the name and billing e-mail of every account the
-- push reads, so that a receipt (mailed or downloaded) is rendered from
-- the ledger alone: a CRM outage does not stop downloads, and a download
-- costs no API call. Deleting the accounts cursor makes the next push read
-- every account once, which fills the table for accounts that have not
-- changed since; unchanged accounts cost no Stripe call.
--
-- receipt_mails records each receipt's SMTP conversation: sending_at when
-- one started (NULL again after a send that failed), sent_at once the
-- server accepted the message. A receipt with sent_at is never mailed
-- again by the queue.

-- +goose Up
CREATE TABLE account_contacts (
    id         TEXT    PRIMARY KEY, -- the CRM account id
    name       TEXT    NOT NULL DEFAULT '',
    email      TEXT    NOT NULL DEFAULT '',
    modstamp   INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE TABLE receipt_mails (
    payment_id TEXT    PRIMARY KEY,
    sending_at INTEGER,
    sent_at    INTEGER
);
DELETE FROM sync_cursors WHERE name = 'accounts';

-- +goose Down
DROP TABLE receipt_mails;
DROP TABLE account_contacts;
