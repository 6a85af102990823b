# The local runner's S3 gateway (s3 inputs, s3Out; docs/local-runner.md): s3rver from npm,
# pinned, next to the venv (pachflow finds it there; PACHFLOW_S3RVER names another prefix).
S3RVER_VERSION := 3.7.1
S3RVER_PREFIX := $(VENV)/share/pachflow/s3rver

.PHONY: s3rver

s3rver: $(S3RVER_PREFIX)/.common-prefixes-patched ## install s3rver (npm, pinned) for s3 inputs and s3Out in `pachflow run`

# after the venv exists: uv refuses a .venv directory that is not yet a venv
$(S3RVER_PREFIX)/node_modules/s3rver/package.json: | $(VENV)/.synced
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { echo "node/npm missing: sudo apt-get install nodejs npm (Debian/Ubuntu) or brew install node"; exit 1; }
	mkdir -p $(S3RVER_PREFIX)
	npm install --prefix $(S3RVER_PREFIX) --no-audit --no-fund --loglevel=error --save-exact s3rver@$(S3RVER_VERSION)
	@touch $@

# s3rver 3.7.1 (its last release) lists no common prefix that holds only subdirectories
# (a/b/ with keys a/b/c/d), which hid a Spark model's sparkml/ from MLflow (issue 17):
# the patch walks every directory under the prefix.
$(S3RVER_PREFIX)/.common-prefixes-patched: $(S3RVER_PREFIX)/node_modules/s3rver/package.json mk/s3rver-common-prefixes.patch
	@grep -q "pachflow: walk every directory" $(S3RVER_PREFIX)/node_modules/s3rver/lib/stores/filesystem.js \
	  || patch -d $(S3RVER_PREFIX) -p1 --forward < mk/s3rver-common-prefixes.patch
	@touch $@
