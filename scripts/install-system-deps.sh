#!/usr/bin/env bash
# System packages the test suite's real services need: PostgreSQL (Dagster's run storage),
# Chromium (the UI test), Java 17 + Maven (the Neo4j server, resolved from Maven Central),
# Go (builds the real helm binary). Idempotent: installs only what is missing.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || need+=(golang-go)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The postgresql package starts a cluster on 5432; tests start their own throwaway one.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | while read -r v c; do
      pg_ctlcluster "$v" "$c" stop >/dev/null 2>&1 || true
    done
  fi
fi
echo "system deps ok"
