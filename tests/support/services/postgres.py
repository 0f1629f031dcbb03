"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, start on 127.0.0.1
with a free port, stop and delete on exit.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
`postgres` system user (runuser), with the data folder and the log owned by that user. The
binaries come from PG_BIN, else /usr/lib/postgresql/<newest>/bin (Debian's `postgresql`
package), else PATH.

    server = PostgresServer().start()
    server.url            # postgresql://postgres@127.0.0.1:PORT/postgres
    server.create_database("dagster_x")
    server.restart()      # stop + start on the same port and data (for durability tests)
    server.stop(); server.cleanup()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "apt-get install -y postgresql"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_pg_bin() -> Path | None:
    env = os.environ.get("PG_BIN")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    user = "postgres"  # the database superuser (trust auth on loopback only)

    def __init__(self, port: int | None = None, base_dir: str | None = None):
        self.bin = find_pg_bin()
        if self.bin is None:
            raise RuntimeError(f"PostgreSQL binaries not found (install: {INSTALL_HINT})")
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.base = Path(tempfile.mkdtemp(prefix="nascar-pg-", dir=base_dir))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.sockdir = self.base / "sock"
        self._run_as: str | None = "postgres" if os.geteuid() == 0 else None
        self._initialized = False

    # ---- process control -------------------------------------------------------------
    def _cmd(self, *args: str) -> list[str]:
        if self._run_as:
            return ["runuser", "-u", self._run_as, "--", *args]
        return list(args)

    def _chown(self, path: Path) -> None:
        if self._run_as:
            pw = pwd.getpwnam(self._run_as)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def init(self) -> None:
        os.chmod(self.base, 0o755)
        self._chown(self.base)
        self.sockdir.mkdir()
        self._chown(self.sockdir)
        self.log.touch()
        self._chown(self.log)
        subprocess.run(
            self._cmd(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(
                "\n# test server\n"
                f"listen_addresses = '{self.host}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.sockdir}'\n"
                "max_connections = 200\nfsync = on\nshared_buffers = 32MB\n"
            )
        self._initialized = True

    def start(self, timeout: float = 60.0) -> PostgresServer:
        if not self._initialized:
            self.init()
        subprocess.run(
            self._cmd(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", self.host, "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not become ready; log:\n{self.log.read_text()[-2000:]}")

    def stop(self, mode: str = "fast") -> None:
        if not self.data.exists() or not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def is_running(self) -> bool:
        return (
            subprocess.run(
                [str(self.bin / "pg_isready"), "-h", self.host, "-p", str(self.port)],
                capture_output=True,
            ).returncode
            == 0
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # ---- SQL helpers -----------------------------------------------------------------
    def psql(self, sql: str, db: str = "postgres") -> str:
        out = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def create_database(self, name: str) -> str:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"unsafe database name {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{db}"

    def env(self, db: str) -> dict[str, str]:
        """The variables the production dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": db,
        }
