-- A hash chain over the audit trails, so that a changed or removed row can be told.
-- Every chained row carries its place (`seq`, 1, 2, … per table), the hash of the row
-- before it (`prev_hash`, '' for the first) and its own hash: SHA-256 hex over prev_hash
-- and its columns (services/periods/audit-chain.ts). Rows written before this migration
-- keep seq 0 and an empty hash: they are counted, never verified.
-- period_audit keeps its sorting key (grain, period, revision, action, at): the chain
-- columns are plain columns, outside it.
ALTER TABLE period_audit ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0;
ALTER TABLE period_audit ADD COLUMN IF NOT EXISTS prev_hash String DEFAULT '';
ALTER TABLE period_audit ADD COLUMN IF NOT EXISTS hash String DEFAULT '';

ALTER TABLE imports ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0;
ALTER TABLE imports ADD COLUMN IF NOT EXISTS prev_hash String DEFAULT '';
ALTER TABLE imports ADD COLUMN IF NOT EXISTS hash String DEFAULT '';
