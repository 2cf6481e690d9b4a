"""ai_memory: remember, recall and forget notes (mcp 2.x, current protocol era).

Notes live in SQLite at $MEMORY_DB (default /data/memory.db). In the stack /data is a named
volume on the node the placement label pins this service to, so notes survive redeploys and
restarts of that node. One replica: SQLite has one writer.
"""

import os
import sqlite3
import threading

from backend.core.serving import security, serve
from mcp.server import MCPServer

DB_PATH = os.environ.get("MEMORY_DB", "/data/memory.db")
_lock = threading.Lock()


def _connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DB_PATH, timeout=5)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS notes (key TEXT PRIMARY KEY, text TEXT NOT NULL)")
    return connection


server = MCPServer(name="ai_memory", version="1.0.0")


@server.tool()
def remember(key: str, text: str) -> str:
    """Store a note under a key (replaces an older note with the same key)."""
    with _lock, _connect() as db:
        db.execute("INSERT OR REPLACE INTO notes (key, text) VALUES (?, ?)", (key, text))
    return f"remembered {key}"


@server.tool()
def recall(key: str) -> str:
    """Return the note stored under a key, or an empty string."""
    with _lock, _connect() as db:
        row = db.execute("SELECT text FROM notes WHERE key = ?", (key,)).fetchone()
    return row[0] if row else ""


@server.tool()
def forget(key: str) -> str:
    """Delete the note stored under a key."""
    with _lock, _connect() as db:
        count = db.execute("DELETE FROM notes WHERE key = ?", (key,)).rowcount
    return f"forgot {key}" if count else f"no note {key}"


@server.tool()
def list_keys() -> list[str]:
    """The keys of all stored notes, sorted."""
    with _lock, _connect() as db:
        return [row[0] for row in db.execute("SELECT key FROM notes ORDER BY key")]


app = server.streamable_http_app(stateless_http=True, json_response=True, transport_security=security())

if __name__ == "__main__":
    serve(app)
