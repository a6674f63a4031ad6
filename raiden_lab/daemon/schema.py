"""The state file's tables (``store.py`` creates them and migrates older files)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    controller_ip TEXT,
    controller_ports TEXT,
    controller_pid INTEGER,
    supervisor_pid INTEGER,
    inventory TEXT,
    tasks TEXT,
    jobs TEXT,
    started REAL,
    updated REAL
);
CREATE TABLE IF NOT EXISTS nodes (
    host TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'starting',
    arch TEXT,
    cores INTEGER,
    engines_wanted INTEGER NOT NULL DEFAULT 0,
    work_dir TEXT,
    problem TEXT,
    power TEXT,
    updated REAL
);
CREATE TABLE IF NOT EXISTS engines (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER,
    state TEXT NOT NULL,
    updated REAL
);
CREATE TABLE IF NOT EXISTS samples (
    time REAL NOT NULL,
    host TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_host_time ON samples (host, time);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    host TEXT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
"""
