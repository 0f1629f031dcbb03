"""The REST read layer over materialized race data (FastAPI). Never recomputes, never reads
Neo4j: every response comes from the Parquet files and manifests of the storage layout
(nascar_pipeline/storage/layout.py), local or S3.

Public:  GET /healthz (liveness, no I/O), /readyz (storage readable), /metrics (Prometheus),
         /docs, /redoc, /openapi.json
Data (Bearer JWT or X-API-Key; deny by default), all under /v1:
  /races                                    races + per-asset status, freshness, staleness
  /races/{race_key}                         one race (race fields from its race_snapshot)
  /races/{race_key}/assets                  provenance of every materialized asset
  /races/{race_key}/assets/{asset}          any asset as a table page: columns=, sort=, limit=, offset=
  /races/{race_key}/assets/{asset}/parquet  the asset's Parquet file, streamed
  /races/{race_key}/projections             driver_projections
  /races/{race_key}/scenarios/summary       per-driver quantiles (source=auto|projections|scenarios)
  /races/{race_key}/scenarios.parquet       the full scenario matrix, streamed
  /races/{race_key}/ownership               ownership_projections
  /races/{race_key}/portfolio               lineup_portfolio rows + links to the upload CSVs
  /races/{race_key}/portfolio/{site}.csv    draftkings.csv / fanduel.csv as written by the pipeline
  /races/{race_key}/contest-simulation      summary over the portfolio's lineups
  /races/{race_key}/contest-simulation/lineups   per lineup, sortable and paginated
  /races/{race_key}/exposure-report/drivers per contest: exposure, limits, ownership, leverage
  /races/{race_key}/exposure-report/lineups per lineup: projection, ceiling, ROI, duplicates
  /races/{race_key}/backtest                race_backtest
  (portfolio and contest routes take ?contest_id= where a race has several contests)

Modules (the FastAPI full-stack template's shape):
  app.py        create_app(): lifespan (storage client, cache), routers, middleware, OpenAPI
  routers/      health.py (public), races.py, results.py, reports.py: thin handlers, auth per router
  deps.py       Annotated dependencies: settings, store, principal, race key, asset, table query
  schemas.py    the response bodies as typed models (what /docs and /openapi.json show)
  reads.py      the read path: manifest from memory, table pages, rendered once per version
  summaries.py  per-driver quantiles and contest metrics read off stored assets
  responses.py  ETag/304, provenance headers, JSON bodies, CSV/Parquet downloads
  store.py      verified, cached reads of the storage layout (nascar_pipeline.storage)
  asset_graph.py  the race assets and their Dagster deps (the `stale` flag), tested against
                the Definitions
  fastpath.py   memory-only answers for routes that declare themselves fast-servable
  auth.py       credentials, strict claims, scopes, failed-login budget, revocation file
  ratelimit.py  per-process token buckets, or fixed windows in PostgreSQL (API_RATE_LIMIT_DSN)
  docs.py       /docs and /redoc: pinned CDN assets with SRI, under a Content-Security-Policy
  http_limits.py  uvicorn's httptools protocol with a header-size limit and a header timeout
  errors.py, observability.py, settings.py, serve.py, cache.py, context.py

Every response carries `X-Content-Type-Options: nosniff` and a Content-Security-Policy; no
redirect is ever built from the request's Host (no trailing-slash redirects; API_TRUSTED_HOSTS
restricts the Host values served).

Every data response carries provenance (X-Run-Id, X-Code-Version, X-Data-Version,
X-Written-At headers, and a `provenance` member in JSON bodies) and an ETag; If-None-Match
gives 304. Errors are application/problem+json. Settings: api/settings.py (API_* and
STORAGE_ROOT). Serve: `nascar-pipeline api` (api/serve.py: uvicorn on the asyncio loop, or
granian) or `uvicorn --factory api.app:create_app`. Cached portfolio reads are answered from
memory before FastAPI's routing, with the same checks and observability (api/fastpath.py).
"""
