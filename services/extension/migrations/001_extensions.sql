-- The current extension of each message that has one. version is the channel extension version of
-- the last applied change: versions of a channel are handed out and committed under the channel's
-- advisory lock, so once a version is visible every lower one of the channel is too, and a sync by
-- version never skips a change.
CREATE TABLE extensions (
  channel_key text    NOT NULL,
  message_id  bigint  NOT NULL,
  message_seq bigint  NOT NULL,
  status      integer NOT NULL,
  -- The canonical dump of a JSON object (text, not jsonb, so it comes back byte for byte).
  ext         text    NOT NULL,
  version     bigint  NOT NULL,
  -- The winning change's timestamp (Unix ms) and operator: the last-writer-wins key.
  updated_ms  bigint  NOT NULL,
  updated_by  text    NOT NULL,
  PRIMARY KEY (channel_key, message_id)
);
CREATE UNIQUE INDEX extensions_by_version ON extensions (channel_key, version);

-- Every applied change: who, when, and the value before and after (old_* NULL for the first).
-- Trimmed by age (--oplog_retention).
CREATE TABLE operations (
  channel_key  text        NOT NULL,
  version      bigint      NOT NULL,
  message_id   bigint      NOT NULL,
  operator_uid text        NOT NULL,
  at_ms        bigint      NOT NULL,
  old_status   integer,
  old_ext      text,
  new_status   integer     NOT NULL,
  new_ext      text        NOT NULL,
  created      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel_key, version)
);
CREATE INDEX operations_by_created ON operations (created);
