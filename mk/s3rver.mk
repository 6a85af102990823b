# The local runner's S3 gateway (s3 inputs, s3Out; docs/local-runner.md): s3rver from npm,
# pinned, next to the venv (pachflow finds it there; PACHFLOW_S3RVER names another prefix).
S3RVER_VERSION := 3.7.1
S3RVER_PREFIX := $(VENV)/share/pachflow/s3rver

.PHONY: s3rver

s3rver: $(S3RVER_PREFIX)/node_modules/s3rver/package.json ## install s3rver (npm, pinned) for s3 inputs and s3Out in `pachflow run`

# after the venv exists: uv refuses a .venv directory that is not yet a venv
$(S3RVER_PREFIX)/node_modules/s3rver/package.json: | $(VENV)/.synced
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { echo "node/npm missing: sudo apt-get install nodejs npm (Debian/Ubuntu) or brew install node"; exit 1; }
	mkdir -p $(S3RVER_PREFIX)
	npm install --prefix $(S3RVER_PREFIX) --no-audit --no-fund --loglevel=error --save-exact s3rver@$(S3RVER_VERSION)
	@touch $@
