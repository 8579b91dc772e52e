-- Principals and their tokens. A token is shown once when created and stored only as a
-- scrypt hash; `token_id` is the public part of the token, used to find its row. Both tables
-- keep every change as a new row (`version`, milliseconds): the newest row of a key wins.
-- Never readable through the analysts' SQL door.
CREATE TABLE IF NOT EXISTS principals
(
    name        String,
    role        LowCardinality(String),
    kind        LowCardinality(String),
    disabled    UInt8,
    created_at  DateTime64(3, 'UTC'),
    created_by  String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name;

CREATE TABLE IF NOT EXISTS tokens
(
    token_id    String,
    principal   String,
    name        String,
    scope       LowCardinality(String),
    hash        String,
    created_at  DateTime64(3, 'UTC'),
    created_by  String,
    expires_at  Nullable(DateTime64(3, 'UTC')),
    revoked_at  Nullable(DateTime64(3, 'UTC')),
    revoked_by  String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY token_id;
