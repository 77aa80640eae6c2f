/*
 * Tells stripesync which Accounts were created, or edited in a field the daemon pushes
 * (see StripesyncTrigger). Does nothing until Stripesync_Settings__c holds the
 * daemon's endpoint and secret.
 */
trigger AccountStripesync on Account (after insert, after update) {
    StripesyncTrigger.enqueue('Account', StripesyncTrigger.accountsToPush(Trigger.new, Trigger.oldMap));
}
