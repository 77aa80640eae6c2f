/*
 * Tells stripesync which invoices were created, or edited in a field the daemon reads
 * (see StripesyncTrigger). Does nothing until Stripesync_Settings__c holds the
 * daemon's endpoint and secret.
 */
trigger InvoiceStripesync on Invoice__c (after insert, after update) {
    StripesyncTrigger.enqueue('Invoice__c', StripesyncTrigger.invoicesToPull(Trigger.new, Trigger.oldMap));
}
