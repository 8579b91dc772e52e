-- When a revision began reading the warehouse, by ClickHouse's own clock (the clock that
-- also stamps `arrivals`): events that arrive for its period later are late for it. Kept on
-- the revision row through every state change.
ALTER TABLE period_revisions ADD COLUMN IF NOT EXISTS read_at DateTime64(3, 'UTC') DEFAULT now64(3);
