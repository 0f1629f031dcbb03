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
#
# Memory: `ingest` writes each file in ONE transaction (all or nothing), so the largest file sets
# the size: a 100,000-row history needs ~0.5 GiB of transaction memory. NEO4J_HEAP (default 2g)
# and NEO4J_TX_MEMORY (dbms.memory.transaction.total.max, default 75 % of the heap) size it;
# 512m, the old default, failed an 80,000-row history at commit.
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
heap = os.environ.get("NEO4J_HEAP", "2g")
units = {"k": 2**10, "m": 2**20, "g": 2**30}
heap_bytes = int(float(heap[:-1]) * units[heap[-1].lower()]) if heap[-1].lower() in units else int(heap)
tx_memory = os.environ.get("NEO4J_TX_MEMORY") or f"{int(heap_bytes * 0.75) // 2**20}m"
server = Neo4jServer(home=home, bolt_port=int(os.environ["NEO4J_PORT"]) if os.environ.get("NEO4J_PORT") else None,
                     password=password, heap=heap, die_with_parent=True,
                     settings={"dbms.memory.transaction.total.max": tx_memory})
print(f"starting Neo4j {server.version} in {server.home} ...", file=sys.stderr, flush=True)
server.start()
print(f"export NEO4J_URI={server.uri}\nexport NEO4J_USER={server.user}\nexport NEO4J_PASSWORD={server.password}", flush=True)
print(f"up in {server.startup_seconds:.1f} s (heap {heap}, transaction memory {tx_memory}); Ctrl-C to stop", file=sys.stderr, flush=True)
stop = lambda *_: (server.stop(), sys.exit(0))
signal.signal(signal.SIGTERM, stop); signal.signal(signal.SIGINT, stop)
while server.proc and server.proc.poll() is None:
    time.sleep(1)
print(server.log_tail(), file=sys.stderr)
sys.exit(1)
PYEOF
