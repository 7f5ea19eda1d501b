-- Durable high-water marks of the per-channel counters. Redis hands out values only inside blocks
-- reserved here, so after Redis loses its data the next block starts above everything handed out.
CREATE TABLE counters (
  channel    text        NOT NULL,
  kind       smallint    NOT NULL,
  reserved   bigint      NOT NULL CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, kind)
);

-- Per-user read position per channel; only ever moves forward.
CREATE TABLE read_seqs (
  uid        text        NOT NULL,
  channel    text        NOT NULL,
  seq        bigint      NOT NULL CHECK (seq >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (uid, channel)
);
