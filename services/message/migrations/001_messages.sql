-- Groups: the descriptive data of GROUP channels. A deleted group keeps its row (and history) but
-- can no longer be sent to or read.
CREATE TABLE groups (
  group_id   text        PRIMARY KEY,
  name       text        NOT NULL DEFAULT '',
  extra      text        NOT NULL DEFAULT '',
  deleted    boolean     NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Who may send to and read a channel ("g:<group id>"); PERSON channels need no rows.
CREATE TABLE subscribers (
  channel_key text        NOT NULL,
  uid         text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_key, uid)
);

-- Channel history. (channel_key, seq) orders it; the unique sender key makes a retried send find
-- the original instead of storing a copy (DESIGN.md invariant 4).
CREATE TABLE messages (
  channel_key     text     NOT NULL,
  seq             bigint   NOT NULL CHECK (seq > 0),
  message_id      bigint   NOT NULL,
  from_uid        text     NOT NULL,
  client_msg_no   text     NOT NULL,
  -- 0 when the message does not count as unread.
  red_dot_ordinal bigint   NOT NULL DEFAULT 0,
  -- Bit 0: red_dot.
  flags           smallint NOT NULL DEFAULT 0,
  payload         bytea    NOT NULL,
  -- Unix ms when the message was accepted.
  created_ms      bigint   NOT NULL,
  PRIMARY KEY (channel_key, seq),
  CONSTRAINT messages_sender_key UNIQUE (channel_key, from_uid, client_msg_no),
  CONSTRAINT messages_message_id UNIQUE (message_id)
);

-- sync_once (cmd) messages: stored once, outside channel history, with the same sender key.
CREATE TABLE cmd_messages (
  message_id    bigint PRIMARY KEY,
  channel_key   text   NOT NULL,
  from_uid      text   NOT NULL,
  client_msg_no text   NOT NULL,
  payload       bytea  NOT NULL,
  created_ms    bigint NOT NULL,
  CONSTRAINT cmd_messages_sender_key UNIQUE (channel_key, from_uid, client_msg_no)
);

-- One row per recipient of a cmd message: the recipient's inbox, in cmd_seq order.
CREATE TABLE cmd_inbox (
  uid        text      NOT NULL,
  cmd_seq    bigserial NOT NULL,
  message_id bigint    NOT NULL REFERENCES cmd_messages (message_id),
  created_ms bigint    NOT NULL,
  PRIMARY KEY (uid, cmd_seq)
);

-- Node ids (10 bits of every message id) leased by running processes, so two live replicas never
-- share one. last_ms is the newest id time a holder reported; the next holder starts above it.
CREATE TABLE node_leases (
  node_id    integer     PRIMARY KEY CHECK (node_id BETWEEN 0 AND 1023),
  holder     text        NOT NULL,
  expires_at timestamptz NOT NULL,
  last_ms    bigint      NOT NULL DEFAULT 0
);
