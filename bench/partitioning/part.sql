-- The same entries in a table partitioned by month, with the same seven indexes.
\timing on
DROP TABLE IF EXISTS logentry_part;
CREATE TABLE logentry_part (LIKE consents_logentry INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at);
DO $$ BEGIN FOR m IN 0..24 LOOP
  EXECUTE format('CREATE TABLE logentry_part_%s PARTITION OF logentry_part FOR VALUES FROM (%L) TO (%L)',
    m, timestamptz '2025-01-01' + m * interval '1 month', timestamptz '2025-01-01' + (m + 1) * interval '1 month');
END LOOP; END $$;
INSERT INTO logentry_part SELECT * FROM consents_logentry;
ALTER TABLE logentry_part ADD PRIMARY KEY (id, occurred_at);
CREATE INDEX ON logentry_part (subject_id, id);
CREATE INDEX ON logentry_part (consent_lineage, id);
CREATE INDEX ON logentry_part (consent_id, event_type, occurred_at);
CREATE INDEX ON logentry_part (recipient, id);
CREATE INDEX ON logentry_part (event_type, occurred_at);
CREATE INDEX ON logentry_part (event_type, id);
CREATE INDEX ON logentry_part (occurred_at);
CREATE SEQUENCE IF NOT EXISTS part_id START 5000000;
ALTER TABLE logentry_part ALTER id SET DEFAULT nextval('part_id');
ANALYZE logentry_part;
