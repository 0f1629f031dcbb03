"""`nascar-pipeline api`: serve the REST read layer with uvicorn; `nascar-pipeline api-key new`:
make a machine-client API key and the hashed entry for API_KEYS_HASHED.

    nascar-pipeline api [--host HOST] [--port PORT] [--workers N] [--log-level LEVEL]
                        [--server uvicorn|granian] [--loop asyncio|uvloop|auto]
    nascar-pipeline api-key new [--id ID]
    nascar-pipeline api-key revoke ID [--file PATH]

A revocation is a line in API_REVOKED_KEYS_FILE, which a running server re-reads when it
changes (within API_REVOCATION_CHECK_S): no restart. With several pods, the file is a mounted
volume they share (a ConfigMap or Secret mounted as a folder, not with subPath, is updated in
place by the kubelet within about a minute).

Storage is STORAGE_ROOT (default: the embedded default's storage folder); auth, CORS and rate
limits come from the API_* variables (see api/settings.py). Other ASGI servers can serve the
factory directly: `uvicorn --factory api.app:create_app`. Why asyncio rather than uvloop by
default, and when granian or more workers help: api/serve.py.
"""

from __future__ import annotations

from nascar_pipeline.errors import UserInputError


def register(sub) -> None:
    p = sub.add_parser("api", help="serve the REST API (FastAPI on uvicorn)")
    p.add_argument("--host", default=None, help="address (default API_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default API_PORT or 8000)")
    from api.serve import add_server_arguments

    add_server_arguments(p)
    p.add_argument("--log-level", default=None, help="log level (default API_LOG_LEVEL or INFO)")
    p.set_defaults(func=serve)

    k = sub.add_parser("api-key", help="manage API keys for machine clients")
    ksub = k.add_subparsers(dest="api_key_command", metavar="ACTION", required=True)
    new = ksub.add_parser("new", help="print a new API key and its API_KEYS_HASHED entry")
    new.add_argument(
        "--id", default=None, help="key id (1-32 ASCII letters and digits; default random)"
    )
    new.set_defaults(func=new_key)
    rev = ksub.add_parser(
        "revoke", help="revoke a key (its id or sha256 digest) in API_REVOKED_KEYS_FILE"
    )
    rev.add_argument("key", help="the key id, or the sha256 hex digest of the key")
    rev.add_argument(
        "--file", default=None, help="the revocation file (default API_REVOKED_KEYS_FILE)"
    )
    rev.set_defaults(func=revoke_key)


def serve(args) -> int:
    from pydantic import ValidationError

    from api.serve import ServerLimits, granian_available
    from api.serve import serve as run_server
    from api.settings import ApiSettings

    try:
        settings = ApiSettings()
    except ValidationError as exc:
        raise UserInputError(f"API settings: {exc}") from None
    host = args.host or settings.host
    port = args.port or settings.port
    if not (1 <= port <= 65535):
        raise UserInputError(f"--port {port}: expected 1-65535")
    if args.workers < 1:
        raise UserInputError(f"--workers {args.workers}: expected 1 or more")
    if args.server == "granian" and not granian_available():
        raise UserInputError(
            "--server granian: the granian package is not installed (pip install granian)"
        )
    level = (args.log_level or settings.log_level).lower()
    run_server(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        server=args.server,
        loop=args.loop,
        log_level=level,
        limits=ServerLimits.from_settings(settings),
    )
    return 0


def new_key(args) -> int:
    from api.auth import new_api_key

    try:
        key, entry = new_api_key(args.id)
    except ValueError as exc:
        raise UserInputError(f"--id {args.id!r}: {exc}") from None
    print(f"key (give to the client, shown once): {key}")
    print(f"entry for API_KEYS_HASHED:           {entry}")
    return 0


def revoke_key(args) -> int:
    from pathlib import Path

    from api.auth import KEY_ID_RE
    from api.settings import ApiSettings
    from nascar_pipeline.storage.atomic import write_bytes_atomic

    # The API's own settings class reads API_REVOKED_KEYS_FILE, as the running server does.
    path = args.file or ApiSettings().revoked_keys_file
    if not path:
        raise UserInputError("api-key revoke: give --file or set API_REVOKED_KEYS_FILE")
    key = args.key.strip().lower()
    is_digest = len(key) == 64 and all(c in "0123456789abcdef" for c in key)
    if not (is_digest or KEY_ID_RE.match(key)):
        raise UserInputError(
            f"api-key revoke {args.key!r}: expected a key id (ASCII letters and digits) "
            "or a sha256 hex digest"
        )
    target = Path(path)
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    listed = {line.split("#", 1)[0].strip().lower() for line in text.splitlines()}
    if key in listed:
        print(f"{args.key} is already revoked in {target}")
        return 0
    if text and not text.endswith("\n"):
        text += "\n"
    # a whole new file renamed into place: a server never reads half a line (the file gets the
    # usual mode: a list of ids, not a secret, readable by the server user)
    write_bytes_atomic(target, f"{text}{key}\n".encode())
    print(f"revoked {args.key} in {target} (running servers pick it up without a restart)")
    return 0
