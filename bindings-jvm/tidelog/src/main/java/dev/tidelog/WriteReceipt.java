package dev.tidelog;

/**
 * What a successful write returns.
 *
 * @param firstSequenceNr sequence number of the first event written
 * @param lastSequenceNr sequence number of the last event written
 */
public record WriteReceipt(long firstSequenceNr, long lastSequenceNr) {}
