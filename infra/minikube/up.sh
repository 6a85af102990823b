#!/usr/bin/env bash
# Brings up a one-node pachflow cluster on minikube: Pachyderm (Helm chart, pinned) and
# an MLflow tracking server (community-charts/mlflow, pinned; Postgres backend, MinIO
# artifacts), waits until both are ready, points pachctl at it and prints the URLs.
# Then: `make images images-minikube deploy put-data FILE=...` from the repo root.
#
# Env (defaults in brackets):
#   PROFILE [pachflow]  MINIKUBE_CPUS [6]  MINIKUBE_MEMORY [12g]  MINIKUBE_DISK [40g]
#   PACH_NAMESPACE [default]  MLFLOW_NAMESPACE [mlflow]
#   MLFLOW_AUTH [0]  1 = MLflow basic auth; the admin user/password are generated into
#                    the Kubernetes secret mlflow-credentials (keys username, password),
#                    which the train pipeline reads. With 0 the secret is still created
#                    (empty values) because the train spec references it.
#   MLFLOW_USERNAME [admin] MLFLOW_PASSWORD [generated]  (only with MLFLOW_AUTH=1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
helm_dir=$here/../helm

PACHYDERM_CHART_VERSION=2.12.2   # = pachd 2.12.2 = pachyderm-sdk pin in the stages
MLFLOW_CHART_VERSION=1.11.5      # community-charts/mlflow
PROFILE=${PROFILE:-pachflow}
PACH_NAMESPACE=${PACH_NAMESPACE:-default}
MLFLOW_NAMESPACE=${MLFLOW_NAMESPACE:-mlflow}
MLFLOW_AUTH=${MLFLOW_AUTH:-0}

say() { echo "up.sh: $*" >&2; }
die() { echo "up.sh: $*" >&2; exit 1; }

for tool in minikube helm kubectl pachctl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (see infra/minikube/README.md, 'Tools')"
done
pachctl_version=$(pachctl version --client-only 2>/dev/null | tail -1 || true)
case "$pachctl_version" in
  *2.12.*) ;;
  *) say "warning: pachctl '$pachctl_version' is not 2.12.x; use the client matching pachd $PACHYDERM_CHART_VERSION" ;;
esac

# The DAG at its widest (2 split workers, etl, train at 4 GiB) plus pachd, etcd,
# Postgres x2, Loki, console, MinIO and MLflow: below ~10 GiB pods stay Pending.
if ! minikube status -p "$PROFILE" >/dev/null 2>&1; then
  say "starting minikube profile $PROFILE"
  minikube start -p "$PROFILE" --cpus "${MINIKUBE_CPUS:-6}" --memory "${MINIKUBE_MEMORY:-12g}" \
    --disk-size "${MINIKUBE_DISK:-40g}"
fi
minikube profile "$PROFILE" >/dev/null
kubectl config use-context "$PROFILE" >/dev/null

say "helm repositories"
helm repo add pachyderm https://helm.pachyderm.com >/dev/null 2>&1 || true
helm repo add community-charts https://community-charts.github.io/helm-charts >/dev/null 2>&1 || true
helm repo update pachyderm community-charts >/dev/null

# Pachyderm's PostgreSQL passwords: random per install, in the secret pachyderm-postgresql
# that infra/helm/pachyderm-values.yaml points the chart at (never the chart's well-known
# defaults). Created once: the database keeps the password it was initialised with, so a
# re-run keeps the secret. Written from files, not argv, so `ps` never shows them.
kubectl create namespace "$PACH_NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
if ! kubectl -n "$PACH_NAMESPACE" get secret pachyderm-postgresql >/dev/null 2>&1; then
  say "generating the PostgreSQL passwords (secret pachyderm-postgresql)"
  secrets_dir=$(mktemp -d)
  trap 'rm -rf "$secrets_dir"' EXIT
  for key in postgresql-password postgresql-postgres-password; do
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$secrets_dir/$key")
  done
  kubectl -n "$PACH_NAMESPACE" create secret generic pachyderm-postgresql \
    --from-file="$secrets_dir/postgresql-password" \
    --from-file="$secrets_dir/postgresql-postgres-password" >/dev/null
  rm -rf "$secrets_dir"
fi

say "Pachyderm $PACHYDERM_CHART_VERSION (namespace $PACH_NAMESPACE)"
helm upgrade --install pachyderm pachyderm/pachyderm --version "$PACHYDERM_CHART_VERSION" \
  --namespace "$PACH_NAMESPACE" --create-namespace -f "$helm_dir/pachyderm-values.yaml" \
  --wait --timeout 20m

auth_args=()
if [ "$MLFLOW_AUTH" = 1 ]; then
  auth_args=(--set auth.enabled=true --set auth.existingAdminSecret.name=mlflow-credentials)
fi
kubectl create namespace "$MLFLOW_NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

# The secret the train pipeline maps to MLFLOW_TRACKING_USERNAME/PASSWORD. Created once;
# re-running keeps the existing password.
secret_exists() { kubectl -n "$1" get secret mlflow-credentials >/dev/null 2>&1; }
if [ "$MLFLOW_AUTH" = 1 ]; then
  user=${MLFLOW_USERNAME:-admin}
  if secret_exists "$MLFLOW_NAMESPACE"; then
    pass=$(kubectl -n "$MLFLOW_NAMESPACE" get secret mlflow-credentials -o jsonpath='{.data.password}' | base64 -d)
  else
    pass=${MLFLOW_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}
  fi
else
  user="" pass=""
fi
# From files in a private directory, never literal arguments: a command line is readable by
# every user of the machine (ps, /proc/<pid>/cmdline) and lands in shell history.
cred_dir=$(mktemp -d)
trap 'rm -rf "$cred_dir"' EXIT
(umask 077 && printf '%s' "$user" > "$cred_dir/username" && printf '%s' "$pass" > "$cred_dir/password")
unset pass
for ns in "$MLFLOW_NAMESPACE" "$PACH_NAMESPACE"; do
  kubectl -n "$ns" create secret generic mlflow-credentials \
    --from-file=username="$cred_dir/username" --from-file=password="$cred_dir/password" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
done
rm -rf "$cred_dir"

say "MLflow chart $MLFLOW_CHART_VERSION (namespace $MLFLOW_NAMESPACE)"
helm upgrade --install mlflow community-charts/mlflow --version "$MLFLOW_CHART_VERSION" \
  --namespace "$MLFLOW_NAMESPACE" -f "$helm_dir/mlflow-values.yaml" "${auth_args[@]}" \
  --wait --timeout 15m

say "waiting for every pod to be ready"
kubectl -n "$PACH_NAMESPACE" wait --for=condition=Ready pod -l app=pachd --timeout=10m
kubectl -n "$MLFLOW_NAMESPACE" rollout status deployment/mlflow --timeout=10m

ip=$(minikube ip -p "$PROFILE")
pachctl connect "grpc://$ip:30080"
pachctl version >/dev/null || die "pachctl cannot reach pachd at grpc://$ip:30080"

# On macOS/Windows with the docker driver `minikube service --url` holds a tunnel open.
if [ "$(uname -s)" = Linux ]; then
  mlflow_url=$(minikube service -p "$PROFILE" -n "$MLFLOW_NAMESPACE" mlflow --url | head -1)
else
  mlflow_url="http://localhost:5000 after: kubectl -n $MLFLOW_NAMESPACE port-forward svc/mlflow 5000:80"
fi
cat <<MSG

pachflow cluster is up (minikube profile $PROFILE)
  Pachyderm console:  http://$ip:30080
  pachctl context:    grpc://$ip:30080   (pachctl list repo)
  MLflow UI:          $mlflow_url
  MLflow in-cluster:  http://mlflow.$MLFLOW_NAMESPACE.svc.cluster.local:80  (the train spec's MLFLOW_TRACKING_URI)
$( [ "$MLFLOW_AUTH" = 1 ] && echo "  MLflow login:       $user / (kubectl -n $MLFLOW_NAMESPACE get secret mlflow-credentials -o jsonpath='{.data.password}' | base64 -d)")
Next, from the repo root:
  make images images-minikube deploy put-data FILE=path/to/paysim.csv.gz
MSG
