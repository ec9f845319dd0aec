-- 1 000 000 synthetic log entries of decision size in the real schema (after `manage.py migrate`).
\timing on
SET session_replication_role = replica;
TRUNCATE consents_lognode;
SET session_replication_role = origin;
-- 1 000 000 entries over 24 months, 200 000 subjects, 500 recipients, ~700-byte entries
INSERT INTO consents_logentry (event_type, occurred_at, subject_id, actor_id, consent_id, consent_lineage,
    kind, recipient, purpose, outcome, entry, leaf_hash)
SELECT
  CASE WHEN r < 0.45 THEN 'decision.permit' WHEN r < 0.50 THEN 'decision.deny'
       WHEN r < 0.85 THEN 'flow.delivered' WHEN r < 0.95 THEN 'consent.granted'
       ELSE 'consent.withdrawn' END,
  timestamptz '2025-01-01' + (i * interval '63.072 seconds'),
  md5('s' || (i::bigint * 7919 % 200000))::uuid,
  NULL,
  md5('c' || (i % 300000))::uuid, md5('c' || (i % 300000))::uuid,
  'provider-sharing', '1.2.246.10.' || (i % 500), 'care',
  CASE WHEN r < 0.50 AND r >= 0.45 THEN 'deny' WHEN r < 0.45 THEN 'permit' ELSE '' END,
  repeat(md5(i::text), 22),
  sha256(i::text::bytea)
FROM (SELECT i, random() AS r FROM generate_series(1, 1000000) i) g;
-- the leaves: leaves.sql
INSERT INTO consents_lognode (key, hash)
SELECT i, sha256(('n' || i)::bytea) FROM generate_series(1, 1000000) i;
ANALYZE;
