"""The cluster path: deploy the specs to a real Pachyderm with pachyderm_sdk."""
