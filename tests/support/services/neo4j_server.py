"""A real Neo4j 5 Community server for tests and local use: no Docker, no OS packages.

The server jars are resolved once with Maven (tests/support/services/neo4j/pom.xml) into
`${NASCAR_CACHE:-~/.cache/nascar-pipeline}/neo4j-<version>/` (a private Maven repository `m2/`
and the resolved `classpath.txt`) and reused afterwards. Each server gets a throwaway home
folder, an initial password set with `neo4j-admin dbms set-initial-password` (run in-process
as `org.neo4j.cli.AdminTool`), Bolt on 127.0.0.1 at a free port, HTTP off, a small heap, and
is stopped with SIGTERM then SIGKILL. The JVM also dies with its parent (PR_SET_PDEATHSIG).

    with Neo4jServer() as server:
        driver = server.driver()

Needs Java 17+ (JAVA_HOME or `java` on PATH) and Maven (`mvn`) for the first resolution.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DEFAULT_VERSION = os.environ.get("NASCAR_NEO4J_VERSION", "5.26.30")
# 1g: a 100,000-row history (about 200,000 relationships, 920,000 properties) is written in one
# transaction, which needs ~0.5 GiB of transaction memory (dbms.memory.transaction.total.max
# defaults to 70 % of the heap); 512m ran out at commit (issue 16).
DEFAULT_HEAP = "1g"
POM = Path(__file__).resolve().parent / "neo4j" / "pom.xml"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"


def cache_root() -> Path:
    return Path(os.environ.get("NASCAR_CACHE", Path.home() / ".cache" / "nascar-pipeline"))


def java_bin() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise RuntimeError("Neo4j needs Java 17+: set JAVA_HOME or put `java` on PATH")
    return java


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resolve_classpath(version: str = DEFAULT_VERSION, quiet: bool = True) -> list[str]:
    """The server's jar paths, resolving them with Maven into the cache the first time.
    Safe against concurrent callers (a file lock around the resolution)."""
    home = cache_root() / f"neo4j-{version}"
    home.mkdir(parents=True, exist_ok=True)
    cp_file = home / "classpath.txt"

    def cached() -> list[str] | None:
        if not cp_file.exists():
            return None
        jars = [p for p in cp_file.read_text().strip().split(os.pathsep) if p]
        return jars if jars and all(Path(j).exists() for j in jars) else None

    jars = cached()
    if jars:
        return jars
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jars = cached()
        if jars:
            return jars
        mvn = shutil.which("mvn")
        if not mvn:
            raise RuntimeError("resolving the Neo4j server jars needs Maven (`mvn`) on PATH")
        tmp = home / "classpath.txt.tmp"
        cmd = [
            mvn,
            "-B",
            *(["-q"] if quiet else []),
            "-f",
            str(POM),
            f"-Dneo4j.version={version}",
            f"-Dmaven.repo.local={home / 'm2'}",
            "dependency:build-classpath",
            f"-Dmdep.outputFile={tmp}",
            "-Dmdep.includeScope=runtime",
        ]
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=quiet, text=True)
        if proc.returncode != 0:
            raise RuntimeError(
                f"Maven could not resolve Neo4j {version}:\n"
                f"{(proc.stdout or '')[-4000:]}{(proc.stderr or '')[-2000:]}"
            )
        os.replace(tmp, cp_file)
        (home / "resolve-seconds.txt").write_text(f"{time.monotonic() - started:.1f}\n")
        jars = cached()
        if not jars:
            raise RuntimeError(f"Maven wrote an empty classpath for Neo4j {version}")
        return jars


def unavailable_reason(version: str = DEFAULT_VERSION) -> str | None:
    """Why a server cannot be started here (no Java; no cached jars and no Maven), or None."""
    try:
        java_bin()
    except RuntimeError as exc:
        return str(exc)
    if not (cache_root() / f"neo4j-{version}" / "classpath.txt").exists() and not shutil.which(
        "mvn"
    ):
        return "Neo4j jars are not cached and Maven (`mvn`) is not on PATH to resolve them"
    return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Neo4jServer:
    """One Neo4j Community server process on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        version: str = DEFAULT_VERSION,
        home: str | Path | None = None,
        bolt_port: int | None = None,
        password: str | None = None,
        heap: str = DEFAULT_HEAP,
        pagecache: str = "128m",
        user: str = "neo4j",
        die_with_parent: bool = True,
        settings: dict[str, str] | None = None,
    ):
        self.version = version
        self._own_home = home is None
        self.home = Path(home) if home else Path(tempfile.mkdtemp(prefix="neo4j-test-"))
        self._auto_port = bolt_port is None
        self.bolt_port = bolt_port or free_port()
        self.user = user
        self.password = password or secrets.token_urlsafe(18)
        self.heap = heap
        self.pagecache = pagecache
        self.die_with_parent = die_with_parent
        self.settings = dict(settings or {})  # extra neo4j.conf lines, e.g. memory limits
        self.proc: subprocess.Popen | None = None
        self.startup_seconds: float | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def env(self) -> dict[str, str]:
        """NEO4J_* variables that point the pipeline at this server."""
        return {"NEO4J_URI": self.uri, "NEO4J_USER": self.user, "NEO4J_PASSWORD": self.password}

    def driver(self):
        from neo4j import GraphDatabase

        return GraphDatabase.driver(self.uri, auth=self.auth)

    def _write_config(self) -> Path:
        conf = self.home / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "neo4j.conf").write_text(
            "\n".join(
                [
                    f"server.directories.data={self.home / 'data'}",
                    f"server.directories.logs={self.home / 'logs'}",
                    f"server.directories.run={self.home / 'run'}",
                    f"server.directories.import={self.home / 'import'}",
                    "server.default_listen_address=127.0.0.1",
                    "server.bolt.enabled=true",
                    f"server.bolt.listen_address=127.0.0.1:{self.bolt_port}",
                    "server.bolt.tls_level=DISABLED",
                    "server.http.enabled=false",
                    "server.https.enabled=false",
                    "dbms.security.auth_enabled=true",
                    "dbms.usage_report.enabled=false",
                    f"server.memory.pagecache.size={self.pagecache}",
                    "db.tx_log.rotation.retention_policy=1 files",
                    # stop in ~3 s instead of ~10 s (Bolt's netty quiet period and pool wait)
                    "internal.dbms.bolt.netty_server_shutdown_quiet_period=0",
                    "internal.dbms.bolt.netty_server_shutdown_timeout=2s",
                    "internal.server.bolt.thread_pool_shutdown_wait_time=0s",
                    *(f"{k}={v}" for k, v in self.settings.items()),
                    "",
                ]
            )
        )
        return conf

    def start(self, timeout: float = 180.0) -> Neo4jServer:
        jars = resolve_classpath(self.version)
        classpath = os.pathsep.join(jars)
        conf = self._write_config()
        java = java_bin()
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(conf)}
        started = time.monotonic()
        if not (self.home / "data" / "dbms" / "auth.ini").exists():
            subprocess.run(
                [
                    java,
                    "-Xmx128m",
                    "-cp",
                    classpath,
                    ADMIN_TOOL,
                    "dbms",
                    "set-initial-password",
                    self.password,
                ],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
        self._log = open(self.home / "console.log", "ab")
        atexit.register(self.stop)
        for attempt in range(3):
            self.proc = subprocess.Popen(
                [
                    java,
                    f"-Xms{self.heap}",
                    f"-Xmx{self.heap}",
                    "-XX:+UseG1GC",
                    "-XX:-OmitStackTraceInFastThrow",
                    "-Dfile.encoding=UTF-8",
                    "-cp",
                    classpath,
                    ENTRY_POINT,
                    f"--home-dir={self.home}",
                    f"--config-dir={conf}",
                ],
                env=env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
            try:
                self._wait_for_bolt(timeout)
                break
            except RuntimeError as exc:  # exited early: retry once more on a new free port
                port_taken = "already in use" in str(exc).lower() or "bind" in str(exc).lower()
                if not (self._auto_port and port_taken and attempt < 2):
                    self.stop(grace=0)
                    raise
                self.bolt_port = free_port()
                conf = self._write_config()
            except BaseException:
                self.stop(grace=0)
                raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _wait_for_bolt(self, timeout: float) -> None:
        from neo4j import GraphDatabase

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"Neo4j exited with {self.proc.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.bolt_port), timeout=0.5):
                    pass
                with GraphDatabase.driver(self.uri, auth=self.auth) as d:
                    d.verify_connectivity()
                    d.execute_query("RETURN 1")
                return
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = exc
                time.sleep(0.25)
        raise TimeoutError(
            f"Neo4j did not answer on {self.uri} within {timeout:.0f} s "
            f"(last error: {last}):\n{self.log_tail()}"
        )

    def log_tail(self, n: int = 40) -> str:
        out = []
        for name in ("console.log", "logs/neo4j.log"):
            p = self.home / name
            if p.exists():
                out.append(
                    f"--- {name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-n:])
                )
        return "\n".join(out)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL; removes a throwaway home."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> Neo4jServer:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def clear_database(driver, database: str | None = None) -> None:
    """Delete every node and relationship (constraints and indexes stay)."""
    driver.execute_query("MATCH (n) DETACH DELETE n", database_=database)


def graph_counts(driver, database: str | None = None) -> dict[str, int]:
    """Node and relationship counts by label / type (for "nothing changed" assertions)."""
    nodes, _, _ = driver.execute_query(
        "MATCH (n) UNWIND labels(n) AS l RETURN l AS k, count(*) AS c", database_=database
    )
    rels, _, _ = driver.execute_query(
        "MATCH ()-[r]->() RETURN type(r) AS k, count(*) AS c", database_=database
    )
    out = {f"node:{r['k']}": r["c"] for r in nodes}
    out.update({f"rel:{r['k']}": r["c"] for r in rels})
    return out


_KEY = "[k IN ['driver_id', 'race_key', 'track_id', 'contest_id', 'name'] WHERE {n}[k] IS NOT NULL | {n}[k]][0]"


def graph_checksum(driver, database: str | None = None) -> str:
    """A hash of every node's labels and properties and every relationship's type, ends (by
    natural key) and properties: equal checksums mean an identical graph."""
    import hashlib
    import json

    nodes, _, _ = driver.execute_query(
        "MATCH (n) RETURN labels(n) AS l, properties(n) AS p", database_=database
    )
    rels, _, _ = driver.execute_query(
        f"MATCH (a)-[r]->(b) RETURN type(r) AS t, {_KEY.format(n='a')} AS a, "
        f"{_KEY.format(n='b')} AS b, properties(r) AS p",
        database_=database,
    )
    items = sorted(json.dumps([sorted(r["l"]), r["p"]], sort_keys=True, default=str) for r in nodes)
    items += sorted(
        json.dumps([r["t"], r["a"], r["b"], r["p"]], sort_keys=True, default=str) for r in rels
    )
    return hashlib.sha256("\n".join(items).encode()).hexdigest()


@contextlib.contextmanager
def neo4j_env(server: Neo4jServer):
    """NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD pointing at `server` (restored after)."""
    keys = ["NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"]
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(server.env())
    os.environ.pop("NEO4J_DATABASE", None)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
