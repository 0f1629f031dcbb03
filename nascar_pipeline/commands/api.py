"""`nascar-pipeline api`: serve the REST read layer with uvicorn; `nascar-pipeline api-key new`:
make a machine-client API key and the hashed entry for API_KEYS_HASHED.

    nascar-pipeline api [--host HOST] [--port PORT] [--workers N] [--log-level LEVEL]
                        [--server uvicorn|granian] [--loop asyncio|uvloop|auto]
    nascar-pipeline api-key new [--id ID]

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
    new.add_argument("--id", default=None, help="key id (letters and digits; default random)")
    new.set_defaults(func=new_key)


def serve(args) -> int:
    from pydantic import ValidationError

    from api.serve import granian_available
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
