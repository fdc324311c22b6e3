"""Runs ClickHouse statements on the engine embedded in chdb, for test/compat/check.ts.

Protocol: one JSON object per line on stdin, one JSON answer per line on stdout.
  request  {"sql": "...", "database": "db" | null, "settings": {"name": "value", ...}}
  answer   {"ok": true, "output": "<text the engine printed>"} or {"ok": false, "error": "<message>"}
A first answer {"ok": true, "version": "<server version>"} tells the engine is up.

The statement is run exactly as the HTTP server would assemble it (the `query` URL parameter, a
newline, then the request body: inline data of an INSERT … FORMAT follows the statement). Settings
the HTTP request carried in its URL are applied with SET first; `database` becomes USE.
"""

import json
import sys

from chdb import session as chdb_session


def sql_value(value: str) -> str:
    if value.lstrip("-").isdigit():
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def main() -> None:
    path = sys.argv[1]
    sess = chdb_session.Session(path)
    current_db = None
    applied: dict = {}
    out = sys.stdout
    version = sess.query("SELECT version()", "TSVRaw").bytes().decode().strip()
    out.write(json.dumps({"ok": True, "version": version}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            database = request.get("database")
            if database and database != current_db:
                # the HTTP `database` parameter names a database that may not exist yet (a CREATE
                # DATABASE runs with database=default); like the server, only switch when it exists
                exists = sess.query(
                    "SELECT count() FROM system.databases WHERE name = " + sql_value(database), "TSVRaw"
                ).bytes().decode().strip()
                if exists == "1":
                    sess.query("USE `" + database.replace("`", "") + "`")
                    current_db = database
            for name, value in (request.get("settings") or {}).items():
                if applied.get(name) != value:
                    sess.query("SET " + name + " = " + sql_value(str(value)))
                    applied[name] = value
            result = sess.query(request["sql"], "TSV")
            answer = {"ok": True, "output": result.bytes().decode("utf-8", "replace")}
        except Exception as err:  # chdb raises ChdbError (a RuntimeError) with the server's message
            answer = {"ok": False, "error": str(err)}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    sess.close()


if __name__ == "__main__":
    main()
