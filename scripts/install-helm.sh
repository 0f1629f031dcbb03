#!/usr/bin/env bash
# Build the real helm binary from the Go module proxy and cache it. Idempotent: when the cached
# binary already reports the wanted version, nothing is rebuilt.
#
#   scripts/install-helm.sh            -> prints the path of the helm binary on stdout
#   HELM_VERSION=v3.21.4 scripts/install-helm.sh
#
# Cache: ${NASCAR_CACHE:-$HOME/.cache/nascar-pipeline}/bin/helm (a per-version file
# helm-<version> plus a `helm` symlink). Needs Go >= the version helm's go.mod asks for
# (v3.22.0 asks for go 1.26). The Go build cache and module cache are reused between runs.
# Measured on a 2-core machine (November 2026, helm v3.22.0, go1.26.8), empty Go caches:
# 1 min 52 s wall at light load, 10 min wall with the cores shared by other jobs (about 3 min
# 20 s of CPU either way; 1.2 GB of Go module and build cache). With warm Go caches a rebuild is
# a relink (about 10 s); with the binary cached this script returns in well under a second.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${NASCAR_CACHE:-$HOME/.cache/nascar-pipeline}"
BIN_DIR="$CACHE_ROOT/bin"
TARGET="$BIN_DIR/helm-$HELM_VERSION"
LINK="$BIN_DIR/helm"

log() { echo "install-helm: $*" >&2; }

if [[ -x "$TARGET" ]] && "$TARGET" version --short 2>/dev/null | grep -q "^${HELM_VERSION}"; then
  ln -sfn "helm-$HELM_VERSION" "$LINK"
  echo "$LINK"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed (need go to build helm $HELM_VERSION from the module proxy)"
  exit 3
fi

mkdir -p "$BIN_DIR"
WORK_GOBIN="$(mktemp -d "$BIN_DIR/.gobin.XXXXXX")"
trap 'rm -rf "$WORK_GOBIN"' EXIT

log "building helm $HELM_VERSION with $(go version) (this takes minutes on a cold cache)"
start=$(date +%s)
# The ldflags the official release build (helm's Makefile) stamps in: the version, and the
# Kubernetes version that `helm template`/`helm lint` assume by default (.Capabilities.KubeVersion;
# without it helm falls back to v1.20). The Kubernetes minor follows the k8s.io/client-go module
# that this helm version is built with (v0.N.x -> 1.N), exactly as the Makefile derives it.
# `go mod download` goes through the same GOPROXY as the build and leaves helm's go.mod in the
# module cache.
HELM_GOMOD="$(go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p' | head -n1)"
K8S_MINOR=""
if [[ -n "$HELM_GOMOD" && -f "$HELM_GOMOD" ]]; then
  K8S_MINOR="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$HELM_GOMOD" | head -n1)"
fi
LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
if [[ -n "$K8S_MINOR" ]]; then
  for pkg in pkg/lint/rules pkg/chartutil; do
    LDFLAGS+=" -X helm.sh/helm/v3/${pkg}.k8sVersionMajor=1 -X helm.sh/helm/v3/${pkg}.k8sVersionMinor=${K8S_MINOR}"
  done
else
  log "could not read k8s.io/client-go from helm's go.mod; default kube version stays helm's fallback"
fi
GOBIN="$WORK_GOBIN" GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod" CGO_ENABLED=0 \
  go install -trimpath -ldflags "$LDFLAGS" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
mv -f "$WORK_GOBIN/helm" "$TARGET"
ln -sfn "helm-$HELM_VERSION" "$LINK"
log "built $TARGET in $(( $(date +%s) - start )) s"
"$TARGET" version --short >&2
echo "$LINK"
