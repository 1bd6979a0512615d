#!/bin/bash
# Bring up a one-node Kubernetes cluster on this machine from locally built binaries:
# etcd + kube-apiserver + kube-controller-manager + kube-scheduler (control plane),
# containerd 2.x + runc (Debian) + CNI bridge (Debian plugins), kubelet, kube-proxy (iptables).
# Everything lives under $STATE; down.sh undoes it. make test-cluster runs it.
#
# Inputs (env): K8S_BIN (etcd, kube-apiserver, kube-controller-manager, kubectl),
# NODE_BIN (kubelet, kube-proxy, kube-scheduler, containerd, containerd-shim-runc-v2, ctr),
# NODE_IP (the host's IP; the kubernetes Service endpoint), IMAGES (pause.tar etc.).
set -euo pipefail

source "$(dirname "$0")/common.sh"
IMAGES=${IMAGES:-}   # image tarballs (docker-archive) to import, space-separated
NODE_NAME=${NODE_NAME:-channel-operator-node}
NODE_IP=${NODE_IP:-$(ip -4 -o addr show dev "$(ip -4 route show default | awk '{print $5; exit}')" | awk '{print $4}' | cut -d/ -f1 | head -1)}
[[ -n $NODE_IP ]] || { echo "up.sh: no IPv4 address on the default route's interface: set NODE_IP" >&2; exit 1; }
KUBERNETES_SVC_IP=${KUBERNETES_SVC_IP:-10.96.0.1}
POD_CIDR=${POD_CIDR:-10.244.0.0/24}
CNI_BIN_DIR=${CNI_BIN_DIR:-/usr/lib/cni}
API_PORT=${API_PORT:-16443}
ETCD_PORT=${ETCD_PORT:-12379}   # outside the NodePort range (30000-32767)
PAUSE_IMAGE=${PAUSE_IMAGE:-local.test/pause:3.10}

PKI=$STATE/pki
LOGS=$STATE/logs
export PATH=$NODE_BIN:$K8S_BIN:$PATH

T0=$(date +%s)
log() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

mkdir -p "$PKI" "$LOGS" "$PIDS" "$CFG" "$STATE/etcd" "$STATE/containerd" "$STATE/cni/net.d" \
  "$STATE/cni/networks" "$STATE/kubelet" "$STATE/pods-logs"

# start NAME CMD...: run in the background, log to $LOGS/NAME.log, pid to $PIDS/NAME.pid
start() {
  local name=$1; shift
  if [[ -f $PIDS/$name.pid ]] && ours "$(cat "$PIDS/$name.pid")"; then
    log "$name already running"; return
  fi
  # setsid: own session, so `down.sh` can stop it by pid without touching anything else
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
  log "started $name (pid $!)"
}

# wait_for DESC SECONDS CMD...
wait_for() {
  local desc=$1 t=$2; shift 2
  for ((i = 0; i < t * 2; i++)); do
    if "$@" >/dev/null 2>&1; then log "$desc: ok"; return 0; fi
    sleep 0.5
  done
  log "$desc: TIMEOUT after ${t}s"; return 1
}

# ---------------------------------------------------------------- host settings
# The system-wide settings the node changes, recorded for down.sh to restore:
# IP forwarding and bridge netfilter (kube-proxy needs both, and sets
# route_localnet), and the kernel settings kubelet sets unless
# protectKernelDefaults (overcommit, panic on oops and after 10 s, keyrings).
SYSCTLS="net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes"
[[ -f $STATE/sysctl.orig ]] || for k in $SYSCTLS; do
  echo "$k $(sysctl -n $k)"; done >"$STATE/sysctl.orig"
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.bridge.bridge-nf-call-iptables=1 || true

# ---------------------------------------------------------------- PKI (openssl)
cert() { # cert NAME CN O [SAN] : client/server cert signed by ca
  local n=$1 cn=$2 o=$3 san=${4:-}
  [[ -f $PKI/$n.crt ]] && return
  openssl genrsa -out "$PKI/$n.key" 2048 2>/dev/null
  local subj="/CN=$cn"; [[ -n $o ]] && subj="/O=$o$subj"
  openssl req -new -key "$PKI/$n.key" -subj "$subj" -out "$PKI/$n.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$PKI/$n.ext"
  openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$PKI/$n.ext" -out "$PKI/$n.crt" 2>/dev/null
}
if [[ ! -f $PKI/ca.crt ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 365 \
    -subj "/CN=channel-operator-node-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
fi
[[ -f $PKI/sa.key ]] || { openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null; openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null; }
cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SVC_IP"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert admin kubernetes-admin system:masters
cert controller-manager system:kube-controller-manager ""
cert scheduler system:kube-scheduler ""
cert kube-proxy system:kube-proxy ""
cert kubelet "system:node:$NODE_NAME" system:nodes
cert front-proxy-client front-proxy-client ""   # API aggregation (requestheader auth)
cert kubelet-server "$NODE_NAME" "" "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP"
log "pki ready"

kubeconfig() { # kubeconfig NAME CERT
  local f=$CFG/$1.kubeconfig
  [[ -f $f ]] && return
  kubectl config set-cluster local --server="https://$NODE_IP:$API_PORT" --certificate-authority="$PKI/ca.crt" --embed-certs --kubeconfig="$f" >/dev/null
  kubectl config set-credentials user --client-certificate="$PKI/$2.crt" --client-key="$PKI/$2.key" --embed-certs --kubeconfig="$f" >/dev/null
  kubectl config set-context local --cluster=local --user=user --kubeconfig="$f" >/dev/null
  kubectl config use-context local --kubeconfig="$f" >/dev/null
}
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kube-proxy kube-proxy
kubeconfig kubelet kubelet

# ---------------------------------------------------------------- etcd
start etcd "$K8S_BIN/etcd" --name node --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "node=http://127.0.0.1:$((ETCD_PORT + 1))" --unsafe-no-fsync --quota-backend-bytes 2147483648
wait_for "etcd healthy" 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

# ---------------------------------------------------------------- kube-apiserver
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --bind-address=0.0.0.0 --secure-port="$API_PORT" --advertise-address="$NODE_IP" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --authorization-mode=Node,RBAC \
  --requestheader-client-ca-file="$PKI/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota,NodeRestriction,Priority,TaintNodesByCondition,DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,PodSecurity \
  --allow-privileged=true --anonymous-auth=true \
  --enable-bootstrap-token-auth=false \
  --endpoint-reconciler-type=lease \
  --profiling=false
wait_for "kube-apiserver /readyz" 90 $KUBECTL get --raw /readyz
# the RBAC bootstrap (system:node, system:kube-proxy, ...) is created by the API server itself

# ---------------------------------------------------------------- kube-controller-manager
start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$CFG/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$CFG/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$CFG/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --controllers='*' \
  --service-account-private-key-file="$PKI/sa.key" \
  --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --cluster-cidr="$CLUSTER_CIDR" --allocate-node-cidrs=false \
  --node-monitor-grace-period=40s

# ---------------------------------------------------------------- kube-scheduler
start kube-scheduler "$NODE_BIN/kube-scheduler" \
  --kubeconfig="$CFG/scheduler.kubeconfig" \
  --authentication-kubeconfig="$CFG/scheduler.kubeconfig" \
  --authorization-kubeconfig="$CFG/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false

# ---------------------------------------------------------------- containerd
cat >"$CFG/containerd.toml" <<EOF
# config version 4 is what containerd 2.4 writes (containerd config default); version 3
# (containerd 2.0-2.3) is still accepted and migrated in memory with a warning.
version = 4
root = '$STATE/containerd/root'
state = '$STATE/containerd/state'
# the NRI plugin would create /var/run/nri; the opt plugin /opt/containerd
disabled_plugins = ['io.containerd.nri.v1.nri', 'io.containerd.internal.v1.opt', 'io.containerd.snapshotter.v1.erofs', 'io.containerd.differ.v1.erofs', 'io.containerd.mount-handler.v1.erofs']
imports = []

[plugins]
  # version 4: the v3 top-level [grpc]/[ttrpc] sections are silently IGNORED (socket falls back
  # to /run/containerd/containerd.sock); the addresses live in these server plugins now
  [plugins.'io.containerd.server.v1.grpc']
    address = '$CTRD_SOCK'
  [plugins.'io.containerd.server.v1.ttrpc']
    address = '$CTRD_SOCK.ttrpc'

  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = '$PAUSE_IMAGE'

  [plugins.'io.containerd.cri.v1.runtime']
    # kubelet owns the netns; keep them under containerd's state dir, not /var/run/netns
    netns_mounts_under_state_dir = true
    # this VM withholds CAP_SYS_RESOURCE (CapEff 000001fffeffffff): negative oom_score_adj
    # (sandbox -998, Guaranteed -997) fails in runc with "failed to update
    # /proc/self/oom_score_adj: Permission denied"; clamp to containerd's own (0)
    restrict_oom_score_adj = true
    cdi_spec_dirs = []
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        disable_pause_image_pull = true
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = '/usr/sbin/runc'
          Root = '$STATE/containerd/runc'
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['$CNI_BIN_DIR']
      conf_dir = '$STATE/cni/net.d'
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
EOF

cat >"$STATE/cni/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/networks",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF

# containerd looks up containerd-shim-runc-v2 in PATH (NODE_BIN is first)
start containerd "$NODE_BIN/containerd" --config "$CFG/containerd.toml"
wait_for "containerd socket" 30 "$NODE_BIN/ctr" --address "$CTRD_SOCK" version

for img in $IMAGES; do
  "$NODE_BIN/ctr" --address "$CTRD_SOCK" -n k8s.io images import --platform "linux/$(dpkg --print-architecture)" "$img" >/dev/null
done
"$NODE_BIN/ctr" --address "$CTRD_SOCK" -n k8s.io images ls -q | sed 's/^/  image: /'

# ---------------------------------------------------------------- kubelet
cat >"$CFG/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CTRD_SOCK
imageServiceEndpoint: unix://$CTRD_SOCK
address: 0.0.0.0
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $PKI/kubelet-server.crt
tlsPrivateKeyFile: $PKI/kubelet-server.key
podLogsDir: $STATE/pods-logs
failSwapOn: false
memorySwap:
  swapBehavior: NoSwap
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
podCIDR: $POD_CIDR
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
registerNode: true
rotateCertificates: false
serverTLSBootstrap: false
EOF

KUBELET_STARTED=1970-01-01T00:00:00Z
[[ -f $PIDS/kubelet.pid ]] && kill -0 "$(cat "$PIDS/kubelet.pid")" 2>/dev/null || KUBELET_STARTED=$(date -u +%FT%TZ)
start kubelet "$NODE_BIN/kubelet" \
  --config="$CFG/kubelet.yaml" \
  --kubeconfig="$CFG/kubelet.kubeconfig" \
  --root-dir="$STATE/kubelet" \
  --cert-dir="$STATE/kubelet/pki" \
  --hostname-override="$NODE_NAME" \
  --node-ip="$NODE_IP" \
  --oom-score-adj=0 \
  --v=2
wait_for "node registered" 60 $KUBECTL get node "$NODE_NAME"

# ---------------------------------------------------------------- kube-proxy
cat >"$CFG/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
oomScoreAdj: 0
clientConnection:
  kubeconfig: $CFG/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
clusterCIDR: $CLUSTER_CIDR
bindAddress: 0.0.0.0
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  # do not touch nf_conntrack_max / tcp timeouts (host-wide sysctls)
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
start kube-proxy "$NODE_BIN/kube-proxy" --config="$CFG/kube-proxy.yaml" --v=2

# Ready with a heartbeat from this kubelet (after a restart etcd still holds the old Ready=True)
node_ready() {
  local st hb
  read -r st hb < <($KUBECTL get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
  [[ $st == True && ! $hb < $KUBELET_STARTED ]]
}
wait_for "node Ready" 120 node_ready
wait_for "default serviceaccount" 60 $KUBECTL -n default get serviceaccount default
log "cluster up: export KUBECONFIG=$CFG/admin.kubeconfig"
$KUBECTL get nodes -o wide
