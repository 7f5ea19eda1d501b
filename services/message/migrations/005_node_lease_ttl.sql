-- The holder's lease length, so that whoever takes an expired node id skips what that holder may
-- have minted until its own expiry (last_ms + its ttl), not the taker's ttl: processes with a
-- shorter ttl (a changed --node_lease_ttl during a rolling update, or tests) otherwise started
-- below ids already stored, and inserts failed on messages_message_id. Rows from before this
-- migration were taken with the default of 30 s.
ALTER TABLE node_leases ADD COLUMN ttl_ms bigint NOT NULL DEFAULT 30000;
