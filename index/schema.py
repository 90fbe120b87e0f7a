"""The SQLite schema as numbered migrations; PRAGMA user_version records the last applied."""

from __future__ import annotations

import sqlite3

FORMAT_VERSION = 1

MIGRATIONS: list[str] = [
    # 1: documents, chunks and sentences with their vectors; FTS5 over chunk text and title.
    """
    CREATE TABLE manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO state (key, value) VALUES ('generation', 0);
    CREATE TABLE documents (
        doc_id TEXT PRIMARY KEY,
        content_hash TEXT NOT NULL,
        text TEXT NOT NULL,
        title TEXT,
        source TEXT,
        url TEXT,
        published_at TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX documents_source ON documents (source);
    CREATE INDEX documents_published_at ON documents (published_at);
    CREATE TABLE chunks (
        chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents (doc_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        text TEXT NOT NULL,
        vector BLOB NOT NULL
    );
    CREATE INDEX chunks_doc_id ON chunks (doc_id);
    CREATE TABLE sentences (
        sentence_id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents (doc_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        vector BLOB NOT NULL
    );
    CREATE INDEX sentences_doc_id ON sentences (doc_id, start);
    CREATE VIRTUAL TABLE chunks_fts USING fts5 (
        title, text, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    """,
    # 2: lexical search moved to the tantivy index in the store's lexical/ folder (index/lexical.py).
    """
    DROP TABLE chunks_fts;
    """,
]


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations the database has not seen yet, each in its own transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"store schema version {version} is newer than this newsrag understands ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
