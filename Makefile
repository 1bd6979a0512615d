# Image URL to use all building/pushing image targets
# (the project's registry; a bare name would pull from Docker Hub).
IMG ?= ghcr.io/channel-operator/channel-operator:$(VERSION)
# The version the manager reports (--version, channel_operator_build_info).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
VERSION_LDFLAGS := -X github.com/channel-operator/channel-operator/internal/version.Version=$(VERSION)

# Kubernetes version of the control plane built for tests (same minor as client-go).
K8S_VERSION ?= $(shell awk '$$1=="k8s.io/kubernetes" {print $$2; exit}' hack/envtest/go.mod)

# Setting SHELL to bash allows bash commands to be executed by recipes.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

##@ General

.PHONY: all
all: build

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and RBAC manifests from the markers in the code.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: monitoring
monitoring: ## Write the PrometheusRule and the Grafana dashboard (config/prometheus) from hack/monitoring.
	go run ./hack/monitoring/cmd

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

.PHONY: verify-generated
verify-generated: manifests generate monitoring ## Fail when generated files differ from the committed ones.
	@if [ -n "$$(git status --porcelain -- api config)" ]; then \
		echo "Generated files are out of date; run 'make manifests generate monitoring' and commit:"; \
		git status --porcelain -- api config; git --no-pager diff --stat -- api config; exit 1; \
	fi

# Every test runs under the race detector (a race report fails the run) but
# hack/image's: it builds and gzips images in one goroutine, which the
# detector's instrumentation made eight times slower. The suites mostly wait
# (on control planes, leases, namespace deletion), so more packages run at
# once than there are cores (TEST_PARALLEL), the longest first. Four were
# faster (about 170 s against 210 s here) but starved the e2e API server
# enough, with anything else running, for a status write to miss the
# receiver's 1.2 s answer budget.
TEST_PARALLEL ?= 3
TEST_FIRST := ./test/e2e ./internal/controller ./test/faults
TEST_ENV = KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" KUSTOMIZE="$(KUSTOMIZE)" GATEWAY_API_CRDS="$(GATEWAY_API_CRDS)" PROMTOOL="$(PROMTOOL)"

.PHONY: test
test: manifests generate fmt vet envtest build kustomize gateway-api-crds promtool ## Run all tests (end-to-end and faults included, fuzz seeds too; under -race but hack/image) against a real kube-apiserver and etcd.
	$(TEST_ENV) go test -race -p $(TEST_PARALLEL) $(TEST_FIRST) \
		$$(go list ./... | grep -v -e '/hack/image$$' $(patsubst ./%,-e '/%$$',$(TEST_FIRST))) -count=1 -timeout 40m
	$(TEST_ENV) go test ./hack/image -count=1 -timeout 10m

# The packages whose tests need no control plane: seconds, for the inner loop.
UNIT_PKGS := ./internal/callback ./internal/chatapi/... ./internal/observer ./internal/operator ./internal/secretwatch ./internal/status ./internal/text ./hack/bench ./test/docs

.PHONY: test-unit
test-unit: ## Run the tests that need no control plane (seconds): the inner loop. make test runs them too.
	go test -race $(UNIT_PKGS) -count=1

# Fuzz budgets are execution counts, about 20 s each on 2 cores: a duration
# (-fuzztime 20s) races Go 1.26's fuzz coordinator at the deadline and fails
# with "context deadline exceeded" and no crasher (golang/go#75804, fixed in
# Go 1.27). FUZZTIME, when set, overrides both (e.g. FUZZTIME=2m).
FUZZTIME_CALLBACK ?= 1000000x
FUZZTIME_RECEIVER ?= 80000x

# make test runs the fuzz targets' seeds (as every go test does); fuzzing
# itself is CI's, after make test (.ci/run), and yours with make fuzz.
.PHONY: fuzz
fuzz: ## Fuzz each target (about 20 s each; CI runs it); seeds and found failures live in testdata/fuzz.
	go test ./internal/callback -run '^$$' -fuzz '^FuzzCallback$$' -fuzztime $(or $(FUZZTIME),$(FUZZTIME_CALLBACK))
	go test ./internal/receiver -run '^$$' -fuzz '^FuzzReceiverHandler$$' -fuzztime $(or $(FUZZTIME),$(FUZZTIME_RECEIVER))

# Mutation testing (go-gremlins): each mutant is one changed line, and the
# package's tests must fail on it. CI runs the packages whose tests need no
# control plane and enforces MUTATE_FLOOR (% of covered mutants killed; the
# tool's own --threshold-efficacy does not fail the run in v0.6.0);
# MUTATE_ALL=1 adds the envtest packages (slow: a control plane per mutant).
MUTATE_FLOOR ?= 95
MUTATE_PKGS := ./internal/callback ./internal/status ./internal/text
MUTATE_ENVTEST_PKGS := ./internal/destruction ./internal/receiver ./internal/cleanup ./internal/controller ./internal/safety

.PHONY: mutate
mutate: gremlins $(if $(MUTATE_ALL),envtest) ## Mutation testing with a kill-rate floor (MUTATE_ALL=1: the envtest packages too); figures in docs/testing.md.
	@set -e; for pkg in $(MUTATE_PKGS) $(if $(MUTATE_ALL),$(MUTATE_ENVTEST_PKGS)); do \
		echo "== $$pkg"; \
		out=$$(KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" "$(GREMLINS)" unleash "$$pkg" --workers 2 \
			--timeout-coefficient 10 --output-statuses lt 2>&1) || { echo "$$out"; exit 1; }; \
		echo "$$out"; \
		eff=$$(echo "$$out" | awk '/Test efficacy:/ {sub("%", "", $$3); print $$3}'); \
		if ! awk -v e="$$eff" -v f="$(MUTATE_FLOOR)" 'BEGIN { exit !(e != "" && e + 0 >= f) }'; then \
			echo "$$pkg: $$eff% of covered mutants killed, below the floor of $(MUTATE_FLOOR)%"; exit 1; \
		fi; \
	done

.PHONY: test-e2e
test-e2e: manifests generate envtest build kustomize gateway-api-crds ## Run the end-to-end tests: bin/manager as the operator's ServiceAccount on a local control plane.
	$(TEST_ENV) go test ./test/e2e/... -count=1 -v -timeout 20m

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	"$(GOLANGCI_LINT)" run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and fix what it can.
	"$(GOLANGCI_LINT)" run --fix

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager (bin/manager) and the smoke-test sender (bin/send-callback).
	go build -ldflags "$(VERSION_LDFLAGS)" -o bin/manager ./cmd
	go build -o bin/send-callback ./cmd/send-callback

.PHONY: run
run: manifests generate fmt vet ## Run the manager from your host against the current kubeconfig (console logs).
	go run ./cmd --zap-devel $(ARGS)

.PHONY: demo
demo: manifests generate envtest build ## Show the operator's main job on a local control plane: a signed callback, then the channel's resources gone.
	go build -o bin/demo ./hack/demo
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" bin/demo

.PHONY: bench
bench: manifests generate envtest build ## Benchmarks against the raw API server, one run; rewrites docs/benchmarks.md. BENCH_SCALE scales the sizes.
	go build -o bin/bench ./hack/bench
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" bin/bench

.PHONY: dev
dev: manifests generate envtest build ## Local control plane from bin/k8s, CRDs, samples and the manager, until Ctrl-C.
	go build -o bin/devcluster ./hack/dev
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" bin/devcluster

# The image without a container engine (hack/image, go-containerregistry):
# the Dockerfile's image, checked against it by hack/image's tests.
# CA_BUNDLE is what the image trusts for Chat's REST API: Debian's
# ca-certificates by default (this machine's; a host with extra CAs in its
# bundle passes a clean one).
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
IMAGE_ARCH ?= $(shell go env GOARCH)
.PHONY: image
image: ## Build the image without Docker: OCI layout bin/image, tarball bin/channel-operator-image.tar (docker load, kind load image-archive).
	@test -s "$(CA_BUNDLE)" || { echo "image: CA bundle $(CA_BUNDLE) is missing: apt-get install ca-certificates, or set CA_BUNDLE" >&2; exit 1; }
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags "-s -w $(VERSION_LDFLAGS)" -o bin/manager-linux ./cmd
	go run ./hack/image/cmd -binary bin/manager-linux -ca-bundle "$(CA_BUNDLE)" -arch $(IMAGE_ARCH) -version $(VERSION) \
		-tag $(IMG) -layout bin/image -tar bin/channel-operator-image.tar

# Needs a Docker engine (none on the development machines of this project).
.PHONY: docker-build
docker-build: ## Build the docker image with the manager.
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push the docker image with the manager.
	$(CONTAINER_TOOL) push ${IMG}

CONTAINER_TOOL ?= docker

.PHONY: build-installer
build-installer: manifests generate kustomize ## Write dist/install.yaml: the CRDs and everything needed to deploy.
	mkdir -p dist
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=${IMG}
	"$(KUSTOMIZE)" build config/default > dist/install.yaml

##@ Deployment

# What is already gone is no error of an uninstall: kubectl deletes the
# Namespace first, and the namespace controller may remove what is in it
# before kubectl gets there (ignore-not-found=false to see those as errors).
ifndef ignore-not-found
  ignore-not-found = true
endif

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster of the current kubeconfig.
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" apply -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Uninstall the CRDs (and with them every OfficialChannel).
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator to the cluster of the current kubeconfig.
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=${IMG}
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" apply -f -

# make undeploy keeps the CRD, and with it every OfficialChannel (their
# destructions, a cleanup under way), for a reinstall to pick up, as
# cert-manager's crds.keep; KEEP_CRDS=false deletes them too. The CRD goes
# first then, while the operator still runs: a cleanup under way ends and
# releases its channel. One that cannot end (an object held by a finalizer of
# its own) stops the undeploy at UNDEPLOY_TIMEOUT, the operator still running:
# the README says what to do.
KEEP_CRDS ?= true
UNDEPLOY_TIMEOUT ?= 2m

.PHONY: undeploy
undeploy: kustomize ## Undeploy the operator, keeping the CRD and the channels (KEEP_CRDS=false: them too).
ifeq ($(KEEP_CRDS),false)
	"$(KUSTOMIZE)" build config/crd | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) --timeout=$(UNDEPLOY_TIMEOUT) -f -
endif
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) --timeout=$(UNDEPLOY_TIMEOUT) \
		-l 'app.kubernetes.io/component!=crd' -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

## Tool Binaries
KUBECTL ?= kubectl
## Tool Versions (pinned; each binary's file name carries its version, so a bump reinstalls)
KUSTOMIZE_VERSION ?= v5.7.1
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
GREMLINS_VERSION ?= v0.6.0
# promtool (Prometheus v3.16.0): checks and unit-tests the alerting rules.
PROMETHEUS_VERSION ?= v0.316.0

KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
GREMLINS ?= $(LOCALBIN)/gremlins-$(GREMLINS_VERSION)
PROMTOOL ?= $(LOCALBIN)/promtool-$(PROMETHEUS_VERSION)

## The control plane: KUBEBUILDER_ASSETS, when set, wins over bin/k8s.
K8S_BIN_DIR := $(LOCALBIN)/k8s
ENVTEST_ASSETS := $(or $(KUBEBUILDER_ASSETS),$(K8S_BIN_DIR))
K8S_MODULE_DIR := hack/envtest
K8S_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION))) \
	-X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/client-go/pkg/version.gitMajor=1 \
	-X k8s.io/client-go/pkg/version.gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION)))
K8S_MODULE_FILES := $(K8S_MODULE_DIR)/go.mod $(K8S_MODULE_DIR)/go.sum

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd, kubectl and kube-controller-manager from Go modules into bin/k8s (skipped when KUBEBUILDER_ASSETS is set).
ifeq ($(KUBEBUILDER_ASSETS),)
envtest: $(K8S_BIN_DIR)/kube-apiserver $(K8S_BIN_DIR)/etcd $(K8S_BIN_DIR)/kubectl $(K8S_BIN_DIR)/kube-controller-manager
endif

$(K8S_BIN_DIR)/kube-apiserver: $(K8S_MODULE_FILES)
	cd $(K8S_MODULE_DIR) && go build -ldflags "$(K8S_LDFLAGS)" -o "$@" k8s.io/kubernetes/cmd/kube-apiserver

# The garbage collector and the namespace controller, for the end-to-end
# tests of ownerReferences, namespace deletion and uninstall.
$(K8S_BIN_DIR)/kube-controller-manager: $(K8S_MODULE_FILES)
	cd $(K8S_MODULE_DIR) && go build -ldflags "$(K8S_LDFLAGS)" -o "$@" k8s.io/kubernetes/cmd/kube-controller-manager

$(K8S_BIN_DIR)/kubectl: $(K8S_MODULE_FILES)
	cd $(K8S_MODULE_DIR) && go build -ldflags "$(K8S_LDFLAGS)" -o "$@" k8s.io/kubernetes/cmd/kubectl

$(K8S_BIN_DIR)/etcd: $(K8S_MODULE_FILES) $(K8S_MODULE_DIR)/etcd/main.go
	cd $(K8S_MODULE_DIR) && go build -ldflags "-s -w" -o "$@" ./etcd

##@ A real node (make test-cluster)

# make test-cluster runs the install as Pods on a node of this machine
# (hack/node/up.sh): kubelet, kube-proxy and kube-scheduler from
# hack/envtest's module at the control plane's version, containerd 2.x from
# hack/containerd's (Debian's 1.6 is too old for kubelet 1.37), runc, the CNI
# plugins, iptables and conntrack from Debian, a pause image built here. A
# node needs root.
NODE_BIN_DIR := $(LOCALBIN)/node
NODE_STATE ?= $(LOCALBIN)/node-state
NODE_NAME ?= channel-operator-node
NODE_PACKAGES := runc containernetworking-plugins iptables conntrack openssl curl iproute2
CONTAINERD_MODULE_DIR := hack/containerd
CONTAINERD_PKG := github.com/containerd/containerd/v2
CONTAINERD_VERSION = $(shell cd $(CONTAINERD_MODULE_DIR) && go list -m -f '{{.Version}}' $(CONTAINERD_PKG))
# btrfs needs cgo and devmapper and zfs are of no use here; kubelet refuses a
# containerd that does not report its version, so it is stamped.
CONTAINERD_TAGS := urfave_cli_no_docs no_btrfs no_devmapper no_zfs
CONTAINERD_LDFLAGS = -s -w -X $(CONTAINERD_PKG)/version.Version=$(CONTAINERD_VERSION) \
	-X $(CONTAINERD_PKG)/version.Revision=gomod -X $(CONTAINERD_PKG)/version.Package=$(CONTAINERD_PKG)
CONTAINERD_FILES := $(CONTAINERD_MODULE_DIR)/go.mod $(CONTAINERD_MODULE_DIR)/go.sum
# The image the node runs (imported, never pulled: a tag other than latest).
CLUSTER_IMG ?= local.test/channel-operator:cluster

.PHONY: node-packages
node-packages: require-root ## Install the node's Debian packages (runc, CNI plugins, iptables, conntrack) when missing.
	@missing=$$(for p in $(NODE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "apt-get install $$missing"; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; fi

.PHONY: node
node: envtest node-packages $(NODE_BIN_DIR)/kubelet $(NODE_BIN_DIR)/kube-proxy $(NODE_BIN_DIR)/kube-scheduler \
	$(NODE_BIN_DIR)/containerd $(NODE_BIN_DIR)/containerd-shim-runc-v2 $(NODE_BIN_DIR)/ctr $(NODE_BIN_DIR)/pause.tar ## Build the node's binaries and pause image into bin/node.

$(NODE_BIN_DIR)/kubelet $(NODE_BIN_DIR)/kube-proxy $(NODE_BIN_DIR)/kube-scheduler: $(K8S_MODULE_FILES)
	cd $(K8S_MODULE_DIR) && go build -ldflags "$(K8S_LDFLAGS)" -o "$@" k8s.io/kubernetes/cmd/$(notdir $@)

$(NODE_BIN_DIR)/containerd $(NODE_BIN_DIR)/ctr: $(CONTAINERD_FILES)
	cd $(CONTAINERD_MODULE_DIR) && CGO_ENABLED=0 go build -tags "$(CONTAINERD_TAGS)" -ldflags "$(CONTAINERD_LDFLAGS)" \
		-o "$@" $(CONTAINERD_PKG)/cmd/$(notdir $@)

# As upstream builds the shim: static, without gRPC.
$(NODE_BIN_DIR)/containerd-shim-runc-v2: $(CONTAINERD_FILES)
	cd $(CONTAINERD_MODULE_DIR) && CGO_ENABLED=0 go build -tags "$(CONTAINERD_TAGS) no_grpc" -ldflags "$(CONTAINERD_LDFLAGS)" \
		-o "$@" $(CONTAINERD_PKG)/cmd/containerd-shim-runc-v2

$(NODE_BIN_DIR)/pause.tar: hack/node/pause/main.go hack/image/image.go hack/image/cmd/main.go
	CGO_ENABLED=0 go build -ldflags "-s -w" -o $(NODE_BIN_DIR)/pause ./hack/node/pause
	go run ./hack/image/cmd -pause -binary $(NODE_BIN_DIR)/pause -tag local.test/pause:3.10 \
		-layout $(NODE_BIN_DIR)/pause-image -tar $@

.PHONY: require-root
require-root:
	@test "$$(id -u)" = 0 || { echo "a node needs root (kubelet, containerd, iptables, mounts)" >&2; exit 1; }

# One node per host (fixed ports, the host's iptables): a lock keeps two
# checkouts from running theirs at once. On failure the node's logs are kept
# in bin/node-logs before the teardown; a teardown that leaves anything behind
# fails the target too.
.PHONY: test-cluster
test-cluster: require-root node kustomize ## Install the operator with make deploy on a node of this machine (root) and test it as Pods.
	$(MAKE) image IMG=$(CLUSTER_IMG)
	@exec 9>/run/lock/channel-operator-node.lock; flock -n 9 || { echo "test-cluster: another node runs on this host" >&2; exit 1; }; \
	set -e; start=$$(date +%s); \
	export K8S_BIN=$(ENVTEST_ASSETS) NODE_BIN=$(NODE_BIN_DIR) STATE=$(NODE_STATE) NODE_NAME=$(NODE_NAME) \
	  IMAGES="$(NODE_BIN_DIR)/pause.tar $(LOCALBIN)/channel-operator-image.tar"; \
	hack/node/down.sh --purge >/dev/null 2>&1 || true; \
	trap 'rc=$$?; if [ $$rc -ne 0 ]; then rm -rf $(LOCALBIN)/node-logs; cp -r $(NODE_STATE)/logs $(LOCALBIN)/node-logs 2>/dev/null; \
	  echo "test-cluster: the node'"'"'s logs are in $(LOCALBIN)/node-logs" >&2; fi; \
	  hack/node/down.sh --purge >$(LOCALBIN)/node-down.log 2>&1 || { cat $(LOCALBIN)/node-down.log >&2; [ $$rc -ne 0 ] || rc=1; }; exit $$rc' EXIT; \
	hack/node/up.sh; \
	KUBECONFIG=$(NODE_STATE)/config/admin.kubeconfig KUBECTL=$(ENVTEST_ASSETS)/kubectl CLUSTER_IMG=$(CLUSTER_IMG) NODE_NAME=$(NODE_NAME) \
	  go test -tags cluster -race ./test/cluster -count=1 -v -timeout 30m; \
	echo "test-cluster: $$(( $$(date +%s) - start )) s from node up to tests done"

.PHONY: kustomize
# The Gateway API CRDs (HTTPRoute, ReferenceGrant) the end-to-end tests
# validate config/callback/httproute.yaml against, from the Go module.
GATEWAY_API_VERSION ?= v1.6.3
GATEWAY_API_CRDS ?= $(LOCALBIN)/gateway-api-$(GATEWAY_API_VERSION)
.PHONY: gateway-api-crds
gateway-api-crds: $(GATEWAY_API_CRDS) ## Copy the Gateway API CRDs the tests use into bin/.
$(GATEWAY_API_CRDS): | $(LOCALBIN)
	@dir=$$(go mod download -json sigs.k8s.io/gateway-api@$(GATEWAY_API_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$dir" || { echo "cannot download sigs.k8s.io/gateway-api@$(GATEWAY_API_VERSION)"; exit 1; }; \
	mkdir -p $@.tmp && cp "$$dir"/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml \
	  "$$dir"/config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml $@.tmp/ && chmod u+w $@.tmp/* && mv $@.tmp $@

kustomize: $(KUSTOMIZE) ## Download kustomize locally if necessary.
$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION),kustomize)

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Download controller-gen locally if necessary.
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION),controller-gen)

.PHONY: gremlins
gremlins: $(GREMLINS) ## Download gremlins (mutation testing) locally if necessary.
$(GREMLINS): | $(LOCALBIN)
	$(call go-install-tool,$(GREMLINS),github.com/go-gremlins/gremlins/cmd/gremlins,$(GREMLINS_VERSION),gremlins)

.PHONY: promtool
promtool: $(PROMTOOL) ## Build promtool locally if necessary.
$(PROMTOOL): | $(LOCALBIN)
	$(call go-install-tool,$(PROMTOOL),github.com/prometheus/prometheus/cmd/promtool,$(PROMETHEUS_VERSION),promtool)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Download golangci-lint locally if necessary.
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION),golangci-lint)

# go-install-tool installs a pinned Go tool into bin/ under a versioned name and
# points the plain name at it.
# $1 - versioned target path, $2 - package, $3 - version, $4 - binary name
define go-install-tool
@set -e; \
echo "Installing $(2)@$(3)"; \
tmp=$$(mktemp -d); \
GOBIN="$$tmp" go install $(2)@$(3); \
mv "$$tmp/$(4)" "$(1)"; rm -rf "$$tmp"; \
ln -sf "$$(basename "$(1)")" "$(LOCALBIN)/$(4)"
endef
