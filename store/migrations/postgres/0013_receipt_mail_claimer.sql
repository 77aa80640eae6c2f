-- Who is in a receipt's SMTP conversation: the claimer id (DB.Register) of
-- the process that recorded sending_at, NULL for a process that did not
-- register (a CLI command). A receipt whose send was started by a claimer
-- proven dead (DB.ReclaimDead) is mailed again at once rather than after
-- the receipt lease: the process died inside the conversation, and waiting
-- longer would not tell whether the server kept the message.

-- +goose Up
ALTER TABLE receipt_mails ADD COLUMN claimed_by BIGINT;
CREATE INDEX receipt_mails_sending_idx ON receipt_mails (claimed_by)
    WHERE sent_at IS NULL AND sending_at IS NOT NULL;

-- +goose Down
DROP INDEX receipt_mails_sending_idx;
ALTER TABLE receipt_mails DROP COLUMN claimed_by;
