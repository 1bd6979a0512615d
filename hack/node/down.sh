#!/bin/bash
# Tear down what up.sh started. `down.sh --purge` also deletes $STATE (etcd data, PKI, images).
# Order: kubelet (so it stops restarting pods) -> pods via containerd -> kube-proxy --cleanup
# -> containerd + its shims -> mounts/netns/bridge/CNI iptables/cgroups -> control plane.
set -uo pipefail

source "$(dirname "$0")/common.sh"
CTR="$NODE_BIN/ctr --address $CTRD_SOCK -n k8s.io"

stop() { # stop NAME: SIGTERM the pid in $PIDS/NAME.pid, SIGKILL after 15 s
  local f=$PIDS/$1.pid pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if ours "$pid"; then
    kill "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { echo "  $1 ($pid) did not stop, SIGKILL"; kill -9 "$pid"; }
    echo "stopped $1 ($pid)"
  fi
  rm -f "$f"
}


# Graceful path first: with no controllers left to replace them, delete every pod through the
# API and let kubelet stop the sandboxes (CNI DEL releases IPs, veths and the ipMasq chains).
stop kube-scheduler
stop kube-controller-manager
if [[ -f $PIDS/kubelet.pid ]] && $KUBECTL get --raw /readyz >/dev/null 2>&1; then
  $KUBECTL delete pods --all --all-namespaces --grace-period=5 --wait=true --timeout=60s >/dev/null 2>&1 \
    && echo "deleted all pods through the API" || echo "  pod deletion through the API timed out"
fi
stop kubelet

# pods: kill every task in containerd's k8s.io namespace, then remove containers
if [[ -S $CTRD_SOCK ]] && $CTR version >/dev/null 2>&1; then
  for t in $($CTR tasks ls -q 2>/dev/null); do $CTR tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 1
  for t in $($CTR tasks ls -q 2>/dev/null); do $CTR tasks delete -f "$t" >/dev/null 2>&1; done
  for c in $($CTR containers ls -q 2>/dev/null); do $CTR containers delete "$c" >/dev/null 2>&1; done
  echo "removed containers"
fi

stop kube-proxy
mkdir -p "$STATE/logs"; [[ -x $NODE_BIN/kube-proxy ]] && "$NODE_BIN/kube-proxy" --cleanup >"$STATE/logs/kube-proxy-cleanup.log" 2>&1 && echo "kube-proxy --cleanup done"

stop containerd
# shims outlive containerd by design; find ours by the containerd address they were given
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CTRD_SOCK" || true); do
  kill -9 "$pid" 2>/dev/null && echo "killed shim $pid"
done
# left-over container processes (runc state under our runc root)
if [[ -d $STATE/containerd/runc/k8s.io ]]; then
  for id in $(ls "$STATE/containerd/runc/k8s.io" 2>/dev/null); do
    /usr/sbin/runc --root "$STATE/containerd/runc/k8s.io" kill "$id" KILL >/dev/null 2>&1
    /usr/sbin/runc --root "$STATE/containerd/runc/k8s.io" delete -f "$id" >/dev/null 2>&1
  done
fi

# mounts under $STATE (overlay rootfs, netns bind mounts, kubelet tmpfs volumes), deepest first
for m in $(findmnt -rn -o TARGET | grep "^$STATE/" | sort -r); do
  umount "$m" 2>/dev/null || umount -l "$m" && echo "umount $m"
done
# shim socket dir containerd hardcodes (/run/containerd/s): remove only our dangling sockets
for s in /run/containerd/s/*; do [[ -S $s ]] && ! ss -xl | grep -q "$s" && rm -f "$s"; done 2>/dev/null

# CNI leftovers: the bridge, and the ipMasq chains bridge created (CNI-<hash>, commented with our net name)
ip link del $BRIDGE 2>/dev/null && echo "deleted bridge $BRIDGE"
for ch in $(iptables -t nat -S POSTROUTING 2>/dev/null | grep -F "name: \\\"$CNI_NET\\\"" | grep -o -- '-j CNI-[0-9a-f]*' | cut -d' ' -f2 | sort -u); do
  iptables -t nat -S POSTROUTING | grep -E -- "-j $ch( |$)" | sed 's/^-A/-D/' | while read -r r; do eval "iptables -t nat $r"; done
  iptables -t nat -F "$ch"; iptables -t nat -X "$ch"
done
# portmap chains (empty unless hostPort was used)
for ch in CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ; do
  for chain in PREROUTING OUTPUT POSTROUTING CNI-HOSTPORT-MASQ; do
    iptables -t nat -S $chain 2>/dev/null | grep -- "-j $ch\b" | sed 's/^-A/-D/' | while read -r r; do eval "iptables -t nat $r"; done
  done
done
for ch in CNI-HOSTPORT-DNAT CNI-HOSTPORT-SETMARK CNI-HOSTPORT-MASQ; do iptables -t nat -F $ch 2>/dev/null; iptables -t nat -X $ch 2>/dev/null; done
rm -rf "$STATE/cni/networks"/*
# libcni's result cache is hardcoded to /var/lib/cni/results (containerd exposes no setting)
rm -f /var/lib/cni/results/$CNI_NET-* /var/lib/cni/results/cni-loopback-*
rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null

# kubelet's hardcoded paths outside --root-dir
rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null
if [[ -d /var/log/containers ]]; then
  find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete
  rmdir /var/log/containers 2>/dev/null
fi

# iptables chains kubelet itself creates (kube-proxy --cleanup leaves them)
for ipt in iptables ip6tables; do
  for t in filter nat mangle; do
    $ipt -t $t -S 2>/dev/null | grep -E -- '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-(FIREWALL|KUBELET-CANARY)' \
      | sed 's/^-A/-D/' | while read -r r; do eval "$ipt -t $t $r"; done
    for ch in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
      $ipt -t $t -F $ch 2>/dev/null && $ipt -t $t -X $ch 2>/dev/null
    done
  done
done
echo "removed kubelet iptables chains"

# sysctls up.sh / kube-proxy changed, back to what up.sh recorded
if [[ -f $STATE/sysctl.orig ]]; then
  while read -r k v; do sysctl -qw "$k=$v"; done <"$STATE/sysctl.orig"
  rm -f "$STATE/sysctl.orig"
  echo "restored sysctls"
fi

# containerd hardcodes the shim socket dir /run/containerd/s (defaults.DefaultStateDir)
rmdir /run/containerd/s /run/containerd 2>/dev/null
# conntrack entries of pod and service addresses (they would expire on their own)
conntrack -D -s "$CLUSTER_CIDR" >/dev/null 2>&1
conntrack -D -d "$CLUSTER_CIDR" >/dev/null 2>&1
conntrack -D -d "$SERVICE_CIDR" >/dev/null 2>&1

# kubelet's cgroups (cgroupfs driver, cgroup v1): /kubepods in every hierarchy, leaves first
for h in /sys/fs/cgroup/*/; do
  [[ -d $h/kubepods ]] && find "$h/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null
done

stop kube-apiserver
stop etcd

# What must be gone now; anything left fails the teardown (and make test-cluster).
left=()
for pid in $(pgrep -f -- "$STATE" || true); do [[ $pid != "$$" ]] && ours "$pid" && left+=("process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80)"); done
while read -r m; do [[ -n $m ]] && left+=("mount $m"); done < <(findmnt -rn -o TARGET | grep -F -- "$STATE/" || true)
ip link show "$BRIDGE" >/dev/null 2>&1 && left+=("bridge $BRIDGE")
iptables -t nat -S 2>/dev/null | grep -qE -- '-N KUBE-(SERVICES|POSTROUTING)' && left+=("kube-proxy's iptables chains")

if [[ ${1:-} == --purge ]]; then
  rm -rf --one-file-system "$STATE" && echo "removed $STATE"
fi
if ((${#left[@]})); then
  printf 'down.sh: left behind: %s\n' "${left[@]}" >&2
  exit 1
fi
echo "down."
