-- Read positions belong to the conversation service (DESIGN.md section 2); the sequence service
-- keeps counters only. Nothing writes its `seq:r:{uid}` Redis keys; any left expire within their
-- one-day TTL.
DROP TABLE read_seqs;
