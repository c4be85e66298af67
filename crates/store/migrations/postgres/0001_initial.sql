-- Posture's PostgreSQL schema, version 1: the tables of the SQLite store, with the same
-- meaning. Keys that are ordered (device ids, record ids, setting keys) use the "C"
-- collation, so orders are byte orders as in SQLite whatever the database's locale.
-- Times that are read back are RFC 3339 text, exactly as SQLite keeps them.

CREATE TABLE devices (
    device_id   text COLLATE "C" PRIMARY KEY,
    group_id    bigint NOT NULL,
    sequence    bigint NOT NULL,
    reported_at timestamptz NOT NULL,
    -- store::state_codec bytes
    state       bytea NOT NULL
);
CREATE INDEX devices_by_group ON devices (group_id, device_id);

CREATE TABLE kb_records (
    source text COLLATE "C" NOT NULL,
    id     text COLLATE "C" NOT NULL,
    body   text NOT NULL,
    PRIMARY KEY (source, id)
);

CREATE TABLE kb_files (
    digest      text PRIMARY KEY,
    file_name   text NOT NULL,
    imported_at timestamptz NOT NULL,
    records     bigint NOT NULL
);

CREATE TABLE snapshots (
    seq          bigint PRIMARY KEY,
    time_path    text NOT NULL UNIQUE,
    generated_at text NOT NULL,
    dir          text NOT NULL,
    kb_version   bigint NOT NULL,
    devices      bigint NOT NULL
);

CREATE TABLE feed_sync (
    feed        text COLLATE "C" PRIMARY KEY,
    cursor      text,
    last_sync   text,
    last_import text,
    records     bigint NOT NULL DEFAULT 0
);

CREATE TABLE feed_staging (
    feed text NOT NULL,
    part bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (feed, part)
);

CREATE TABLE settings (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
