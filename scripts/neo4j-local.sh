#!/usr/bin/env bash
# Start a local Neo4j 5 Community server for nascar-pipeline (no Docker, no packages).
# The jars are resolved once with Maven into ${NASCAR_CACHE:-~/.cache/nascar-pipeline}/neo4j-<version>.
#
#   scripts/neo4j-local.sh                 # throwaway data, random password, Ctrl-C stops it
#   NEO4J_HOME_DIR=.nascar-pipeline/neo4j NEO4J_PORT=7687 NEO4J_PASSWORD=secret123 scripts/neo4j-local.sh
#
# It prints the NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD lines to export in another shell.
# A persistent NEO4J_HOME_DIR keeps its data and its first password (in <home>/.password)
# across restarts. Then, in another shell:  eval "$(...printed lines...)"; nascar-pipeline ontology init
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" - <<'PYEOF'
import os, signal, sys, time
sys.path.insert(0, os.getcwd())
from tests.support.services.neo4j_server import Neo4jServer

import secrets
from pathlib import Path

home = os.environ.get("NEO4J_HOME_DIR")
password = os.environ.get("NEO4J_PASSWORD")
if home:  # a persistent home remembers its first password in <home>/.password (mode 600)
    pw_file = Path(home) / ".password"
    Path(home).mkdir(parents=True, exist_ok=True)
    if pw_file.exists() and not password:
        password = pw_file.read_text().strip()
    elif not pw_file.exists():
        if (Path(home) / "data" / "dbms" / "auth.ini").exists() and not password:
            sys.exit(f"{home} already has a password: set NEO4J_PASSWORD")
        password = password or secrets.token_urlsafe(18)
        pw_file.write_text(password + "\n")
        pw_file.chmod(0o600)
server = Neo4jServer(home=home, bolt_port=int(os.environ["NEO4J_PORT"]) if os.environ.get("NEO4J_PORT") else None,
                     password=password, heap=os.environ.get("NEO4J_HEAP", "512m"),
                     die_with_parent=True)
print(f"starting Neo4j {server.version} in {server.home} ...", file=sys.stderr, flush=True)
server.start()
print(f"export NEO4J_URI={server.uri}\nexport NEO4J_USER={server.user}\nexport NEO4J_PASSWORD={server.password}", flush=True)
print(f"up in {server.startup_seconds:.1f} s; Ctrl-C to stop", file=sys.stderr, flush=True)
stop = lambda *_: (server.stop(), sys.exit(0))
signal.signal(signal.SIGTERM, stop); signal.signal(signal.SIGINT, stop)
while server.proc and server.proc.poll() is None:
    time.sleep(1)
print(server.log_tail(), file=sys.stderr)
sys.exit(1)
PYEOF
