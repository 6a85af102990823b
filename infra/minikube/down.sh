#!/usr/bin/env bash
# Tears down what up.sh made. Default: uninstall the Helm releases and keep minikube
# (fast to re-run up.sh). DELETE=1 deletes the whole minikube profile, data included.
set -euo pipefail
PROFILE=${PROFILE:-pachflow}
PACH_NAMESPACE=${PACH_NAMESPACE:-default}
MLFLOW_NAMESPACE=${MLFLOW_NAMESPACE:-mlflow}

if [ "${DELETE:-0}" = 1 ]; then
  minikube delete -p "$PROFILE"
  exit 0
fi
minikube status -p "$PROFILE" >/dev/null 2>&1 || { echo "down.sh: minikube profile $PROFILE is not running"; exit 0; }
kubectl config use-context "$PROFILE" >/dev/null
helm uninstall mlflow --namespace "$MLFLOW_NAMESPACE" --wait 2>/dev/null || true
helm uninstall pachyderm --namespace "$PACH_NAMESPACE" --wait 2>/dev/null || true
kubectl -n "$MLFLOW_NAMESPACE" delete secret mlflow-credentials --ignore-not-found
kubectl -n "$PACH_NAMESPACE" delete secret mlflow-credentials --ignore-not-found
echo "down.sh: releases removed; persistent volumes remain until 'DELETE=1 $0'"
