\timing on
SET session_replication_role = replica;  -- the FK check's row locks are not what is measured here
INSERT INTO consents_logleaf (seq, entry_id, leaf_hash) SELECT e.id - 1, e.id, e.leaf_hash FROM consents_logentry e;
SET session_replication_role = origin;
ANALYZE consents_logleaf;
