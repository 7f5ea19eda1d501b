-- One pgbench transaction: one INSERT of :batch message rows, as the message store writes a lane's
-- batch in one statement (1000 channels, 64-byte payloads).
INSERT INTO bench_messages (channel_key, seq, message_id, from_uid, client_msg_no, red_dot_ordinal,
                            flags, payload, created_ms)
SELECT 'p:' || (v % 1000), v, v, 'u' || (v % 2000), v::text, v, 1,
       decode(repeat('ab', 64), 'hex'), floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint
FROM (SELECT nextval('bench_ids') AS v FROM generate_series(1, :batch)) AS ids;
