-- Roles and grants that back up "who may do what" on a ClickHouse server (server mode,
-- CLICKHOUSE_URL). Applied by `kpi migrate` after the migrations, through
-- services/shared/access-control.ts, every run: each statement is repeatable and
-- converges the server to this file. Not a numbered migration: the embedded engine (chDB)
-- has no access storage and refuses CREATE ROLE.
--
-- {{database}} is replaced by CLICKHOUSE_DATABASE, validated as an identifier by
-- services/shared/config.ts. The reader user itself (CLICKHOUSE_READER_USER) is created by
-- the runner, since its password hash comes from the environment.
-- Statements end with a semicolon at the end of a line (as in migrations); comment lines
-- are dropped.

CREATE ROLE IF NOT EXISTS kpi_reader;

CREATE ROLE IF NOT EXISTS kpi_writer;

-- Bounds of every query the reader runs, applied by the server. readonly is CONST: the
-- caller cannot lower it, and under readonly = 1 it cannot change any other setting
-- either, except max_execution_time: Grafana's ClickHouse plugin sends it with every query,
-- so it may be changed within 1-30 s (CHANGEABLE_IN_READONLY needs
-- settings_constraints_replace_previous, which the server's shipped config.xml enables).
-- The values match the analysts' SQL door of the API (KPI_SQL_* defaults).
-- distributed_product_mode: on a cluster (CLICKHOUSE_CLUSTER) the documented views join one
-- Distributed table to another, which ClickHouse refuses by default; 'global' reads the
-- joined one whole and sends it to every shard (docs/clickhouse-cluster.md). One server
-- has no Distributed tables, and the setting changes nothing there.
CREATE SETTINGS PROFILE IF NOT EXISTS kpi_reader_profile;

-- ALTER … SETTINGS replaces the whole list, so a changed bound reaches existing servers.
ALTER SETTINGS PROFILE kpi_reader_profile SETTINGS
    readonly = 1 CONST,
    max_execution_time = 30 MIN 1 MAX 30 CHANGEABLE_IN_READONLY,
    max_memory_usage = 2147483648 MIN 1 MAX 2147483648,
    max_result_rows = 1000000 MIN 1 MAX 1000000,
    max_result_bytes = 104857600 MIN 1 MAX 104857600,
    max_rows_to_read = 2000000000 MIN 1 MAX 2000000000,
    distributed_product_mode = 'global';

ALTER ROLE kpi_reader SETTINGS PROFILE 'kpi_reader_profile';

-- The reader sees exactly the documented readable tables (READABLE_TABLES), one grant per
-- table, never the whole database: principals and tokens (credentials) and
-- schema_migrations stay out. One statement WITH REPLACE OPTION, so a table dropped from
-- this list loses its grant on the next run, with no moment in which the role has none.
-- The documented views (v_…) run with the reader's own grants (SQL SECURITY INVOKER, the
-- default), so the tables under them, kpi_catalog among them, are granted as well.
GRANT
    SELECT ON {{database}}.ingest_progress,
    SELECT ON {{database}}.dead_letters,
    SELECT ON {{database}}.sale_lines,
    SELECT ON {{database}}.order_events,
    SELECT ON {{database}}.return_events,
    SELECT ON {{database}}.ticket_events,
    SELECT ON {{database}}.order_state,
    SELECT ON {{database}}.ticket_state,
    SELECT ON {{database}}.kpi_targets,
    SELECT ON {{database}}.kpi_inputs,
    SELECT ON {{database}}.fx_rates,
    SELECT ON {{database}}.imports,
    SELECT ON {{database}}.kpi_values,
    SELECT ON {{database}}.period_revisions,
    SELECT ON {{database}}.period_audit,
    SELECT ON {{database}}.restatements,
    SELECT ON {{database}}.scorecards,
    SELECT ON {{database}}.scorecard_lines,
    SELECT ON {{database}}.arrivals,
    SELECT ON {{database}}.customer_first_purchases,
    SELECT ON {{database}}.kpi_day_partials,
    SELECT ON {{database}}.kpi_partial_days,
    SELECT ON {{database}}.kpi_catalog,
    SELECT ON {{database}}.v_periods,
    SELECT ON {{database}}.v_kpi_values,
    SELECT ON {{database}}.v_scorecards,
    SELECT ON {{database}}.v_scorecard_lines,
    SELECT ON {{database}}.v_restatements,
    SELECT ON {{database}}.v_events_by_family
TO kpi_reader WITH REPLACE OPTION;

-- The services (ingest, worker, api): read and write the pipeline's tables, never other
-- databases, users or grants.
GRANT SELECT, INSERT, ALTER UPDATE, ALTER DELETE, CREATE TABLE, OPTIMIZE ON {{database}}.* TO kpi_writer WITH REPLACE OPTION;
