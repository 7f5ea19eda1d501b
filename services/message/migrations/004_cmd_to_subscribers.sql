-- A cmd to a channel's subscribers no longer stores the member list in the send transaction (which
-- made a 10000-member group's ack ~10x slower than a 1:1 cmd's): it is marked to_subscribers, and
-- the cmd expander pages the channel's subscribers in uid order after the ack; expanded_after is
-- the last uid that has an inbox row. So a member who joins or leaves during a large expansion
-- gets the cmd exactly when their uid is still ahead of the cursor. Cmds with an explicit list
-- keep using recipients[1..expanded].
ALTER TABLE cmd_messages
  ADD COLUMN to_subscribers boolean NOT NULL DEFAULT false,
  ADD COLUMN expanded_after text    NOT NULL DEFAULT '';
