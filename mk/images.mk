# Container images and the cluster path (issue 7). Included from the root Makefile
# (`include mk/*.mk`); the logic lives in docker/images.sh so it can run without make.
# The build steps are written once: docker/builder/*.sh, run by docker/stage/Dockerfile for
# every stage (see docker/README.md).
#   make images [CONTAINER_ENGINE=docker|podman] [REGISTRY=pachflow] [BASE_IMAGE=...] [STAGES=...]
#   make push | images-minikube | base-image | image-sizes | lint-docker
#   make deploy | undeploy | put-data FILE=...   (on the active Pachyderm context)

REGISTRY ?= pachflow
BASE_IMAGE ?= docker.io/library/python:3.11-slim-bookworm
LOCAL_BASE_IMAGE := localhost/pachflow-base:bookworm
IMAGE_STAGES ?= $(patsubst stages/%/Dockerfile,%,$(wildcard stages/*/Dockerfile))
MK_RUN = $(or $(RUN),uv run --frozen --no-sync)
IMAGES_SH = REGISTRY=$(REGISTRY) BASE_IMAGE=$(BASE_IMAGE) $(if $(UV),UV=$(UV)) $(if $(CONTAINER_ENGINE),CONTAINER_ENGINE=$(CONTAINER_ENGINE)) docker/images.sh
PACHFLOW ?= $(MK_RUN) pachflow
DOCKERFILES := $(wildcard stages/*/Dockerfile docker/*/Dockerfile)
SHELL_SCRIPTS := $(wildcard docker/*.sh docker/*/*.sh infra/minikube/*.sh)

.PHONY: images push images-minikube base-image image-sizes lint-docker deploy undeploy put-data

images: ## build the shared images, then <registry>/pachflow-<stage>:<version> for every stage (refuses to re-use a changed tag)
	$(IMAGES_SH) build $(IMAGE_STAGES)

push: ## push the stage images to $(REGISTRY)
	$(IMAGES_SH) push $(IMAGE_STAGES)

images-minikube: ## load the stage images into minikube (no registry needed)
	$(IMAGES_SH) minikube $(IMAGE_STAGES)

base-image: ## build localhost/pachflow-base:bookworm from Debian packages, no image registry (root)
	CONTAINER_ENGINE=$(CONTAINER_ENGINE) docker/base/build-base.sh $(LOCAL_BASE_IMAGE)

image-sizes: ## print each stage image's tag and size
	$(IMAGES_SH) sizes $(IMAGE_STAGES)

lint-docker: ## hadolint every Dockerfile (+ shellcheck the scripts when installed)
	$(MK_RUN) hadolint $(DOCKERFILES)
	@if command -v shellcheck >/dev/null 2>&1; then shellcheck $(SHELL_SCRIPTS); \
	else echo "shellcheck not installed (apt-get install shellcheck): scripts not checked"; fi

deploy: ## create the input repo and create/update every pipeline, in DAG order
	$(PACHFLOW) deploy

undeploy: ## delete the pipelines (keeps the input repo and its data)
	$(PACHFLOW) undeploy

put-data: ## put a raw PaySim file into the input repo: make put-data FILE=paysim.csv.gz
	@[ -n "$(FILE)" ] || { echo "usage: make put-data FILE=<PaySim CSV, plain or .gz>"; exit 2; }
	$(PACHFLOW) cluster put raw_data $(FILE)
