-- The Postgres ceiling for message rows (scripts/bench.sh): a table shaped like message.messages
-- (same columns, primary key and unique keys), filled by pgbench with pg_insert_batch.sql.
DROP TABLE IF EXISTS bench_messages;
DROP SEQUENCE IF EXISTS bench_ids;
CREATE SEQUENCE bench_ids;
CREATE TABLE bench_messages (
  channel_key     text     NOT NULL,
  seq             bigint   NOT NULL CHECK (seq > 0),
  message_id      bigint   NOT NULL,
  from_uid        text     NOT NULL,
  client_msg_no   text     NOT NULL,
  red_dot_ordinal bigint   NOT NULL DEFAULT 0,
  flags           smallint NOT NULL DEFAULT 0,
  payload         bytea    NOT NULL,
  created_ms      bigint   NOT NULL,
  PRIMARY KEY (channel_key, seq),
  CONSTRAINT bench_messages_sender_key UNIQUE (channel_key, from_uid, client_msg_no),
  CONSTRAINT bench_messages_message_id UNIQUE (message_id)
);
