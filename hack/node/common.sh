# What up.sh and down.sh share: their inputs, the names the node gives what
# it creates on the host, and how they recognise their own processes.
# Sourced, not run.

: "${K8S_BIN:?K8S_BIN: the control-plane binaries (bin/k8s)}"
: "${NODE_BIN:?NODE_BIN: the node binaries (bin/node)}"
: "${STATE:?STATE: the node state directory}"
SERVICE_CIDR=${SERVICE_CIDR:-10.96.0.0/16}
CLUSTER_CIDR=${CLUSTER_CIDR:-10.244.0.0/16}
CNI_NET=channel-operator-node   # the CNI network's name; down.sh finds its iptables chains by it
BRIDGE=conode0

PIDS=$STATE/pids
CFG=$STATE/config
CTRD_SOCK=$STATE/containerd/containerd.sock
KUBECTL="$K8S_BIN/kubectl --kubeconfig $CFG/admin.kubeconfig"

# ours PID: the process is one of this node's (a binary of NODE_BIN or
# K8S_BIN whose command line names $STATE), not another that reuses a pid
# recorded before a reboot or a crash.
ours() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $exe == "$NODE_BIN"/* || $exe == "$K8S_BIN"/* ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$STATE"
}
