-- Per channel, its committed counters, kept in the same statement as the message inserts (under the
-- channel's advisory lock), so a user's unread count needs no per-member rows (read diffusion,
-- DESIGN.md invariant 6). New red-dot messages get the ordinals red_dots + 1, red_dots + 2, ...
CREATE TABLE channel_heads (
  channel_key     text   PRIMARY KEY,
  last_seq        bigint NOT NULL,
  last_message_id bigint NOT NULL,
  -- The last message's created_ms.
  last_message_ms bigint NOT NULL,
  -- Stored red-dot messages; equal to the highest red_dot_ordinal.
  red_dots        bigint NOT NULL,
  -- The database clock (Unix ms) when the last message's batch was inserted.
  activity_ms     bigint NOT NULL
);

-- Per (channel, sender), the sender's stored red-dot messages (no row = 0).
CREATE TABLE sender_heads (
  channel_key text   NOT NULL,
  uid         text   NOT NULL,
  red_dots    bigint NOT NULL,
  PRIMARY KEY (channel_key, uid)
);

-- Ordinals of older messages came from the sequence service and may have gaps; starting from the
-- highest one keeps them increasing.
INSERT INTO channel_heads (channel_key, last_seq, last_message_id, last_message_ms, red_dots,
                           activity_ms)
SELECT DISTINCT ON (channel_key) channel_key, seq, message_id, created_ms,
       max(red_dot_ordinal) OVER (PARTITION BY channel_key), created_ms
FROM messages
ORDER BY channel_key, seq DESC;

INSERT INTO sender_heads (channel_key, uid, red_dots)
SELECT channel_key, from_uid, count(*)
FROM messages
WHERE red_dot_ordinal > 0
GROUP BY channel_key, from_uid;
