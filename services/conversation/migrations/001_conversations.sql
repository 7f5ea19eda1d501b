-- Each user's change counter: every change to one of the user's conversations takes the next value
-- under this row's lock, so versions commit in order and a sync that has seen version V has seen
-- every change up to V.
CREATE TABLE users (
  uid     text   PRIMARY KEY,
  version bigint NOT NULL
);

-- A user's own state of one conversation (read diffusion: nothing here changes when a message is
-- sent to the channel). The read position carries the channel's red-dot counters at read_seq, so
-- unread is exact: (channel red dots - read_red_dots) - (own red dots - read_own_red_dots).
CREATE TABLE conversations (
  uid               text    NOT NULL,
  channel_key       text    NOT NULL,
  read_seq          bigint  NOT NULL DEFAULT 0,
  read_red_dots     bigint  NOT NULL DEFAULT 0,
  read_own_red_dots bigint  NOT NULL DEFAULT 0,
  -- Delete hides messages up to deleted_to_seq; the conversation is hidden while no later message
  -- exists.
  deleted           boolean NOT NULL DEFAULT false,
  deleted_to_seq    bigint  NOT NULL DEFAULT 0,
  pinned            boolean NOT NULL DEFAULT false,
  muted             boolean NOT NULL DEFAULT false,
  -- The user's version at the last change of this row, and when it happened (Unix ms).
  version           bigint  NOT NULL,
  updated_ms        bigint  NOT NULL,
  PRIMARY KEY (uid, channel_key)
);
