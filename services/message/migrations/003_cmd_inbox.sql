-- Cmd inboxes with a sequence per recipient and a cursor per device (DESIGN.md section 4, seed 004).
-- The send transaction stores only the cmd_messages row with its recipient list; the cmd expander
-- writes the inbox rows afterwards, in batches, so a cmd to a large group acks as fast as one to
-- two uids.

-- Per recipient, the last cmd_seq given out. The expander takes these rows in uid order and holds
-- them to its commit, so a uid's cmd_seqs become visible in increasing order.
CREATE TABLE cmd_users (
  uid      text   PRIMARY KEY,
  last_seq bigint NOT NULL
);

-- Inbox rows written before this migration keep their (global) cmd_seq; new ones continue above
-- each uid's highest.
INSERT INTO cmd_users (uid, last_seq)
SELECT uid, max(cmd_seq) FROM cmd_inbox GROUP BY uid;

ALTER TABLE cmd_inbox ALTER COLUMN cmd_seq DROP DEFAULT;
DROP SEQUENCE cmd_inbox_cmd_seq_seq;

-- The retention sweep finds a cmd's inbox rows by message_id (also what the foreign key needs).
CREATE INDEX cmd_inbox_message ON cmd_inbox (message_id);

-- Every device that ever synced or acked cmds ("known devices"): its cursor, and when it was last
-- seen (Unix ms, message service clock). Inbox entries at or below every known device's acked_seq
-- are trimmed; a device unseen for the retention is forgotten.
CREATE TABLE cmd_devices (
  uid       text   NOT NULL,
  device_id text   NOT NULL,
  acked_seq bigint NOT NULL DEFAULT 0,
  seen_ms   bigint NOT NULL,
  PRIMARY KEY (uid, device_id)
);
CREATE INDEX cmd_devices_seen ON cmd_devices (seen_ms);

-- Who gets each cmd (fixed at send time) and how far the expander got: recipients[1..expanded]
-- have inbox rows. Rows from before this migration were expanded by the send transaction.
ALTER TABLE cmd_messages
  ADD COLUMN from_device_id text    NOT NULL DEFAULT '',
  ADD COLUMN recipients     text[]  NOT NULL DEFAULT '{}',
  ADD COLUMN expanded       integer NOT NULL DEFAULT 0,
  ADD COLUMN pending        boolean NOT NULL DEFAULT false;
CREATE INDEX cmd_messages_pending ON cmd_messages (created_ms, message_id) WHERE pending;
CREATE INDEX cmd_messages_created ON cmd_messages (created_ms);
