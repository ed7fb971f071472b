#!/usr/bin/env bash
# Starts a throwaway control plane (etcd + kube-apiserver on free loopback ports) for the e2e tier.
#   up.sh STATE_DIR
# Writes STATE_DIR/kubeconfig (contexts e2e = admin, e2e-viewer = restricted user) and
# STATE_DIR/env (KUBECONFIG, URL, pids), which down.sh reads. On failure it prints the log tails,
# stops what it started and exits non-zero. If E2E_OWNER_PID is set, a watchdog runs down.sh once
# that process is gone, so a crashed test runner leaves nothing behind.
# Env: E2E_BIN_DIR (default: what build.sh prints), E2E_READY_TIMEOUT (s, default 180).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${1:?usage: up.sh STATE_DIR}"
READY_TIMEOUT="${E2E_READY_TIMEOUT:-180}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
PKI="$STATE/pki"
ENV_FILE="$STATE/env"
mkdir -p "$PKI"
: >"$ENV_FILE"

log() { echo "up.sh: $*" >&2; }
record() { printf '%s=%q\n' "$1" "$2" >>"$ENV_FILE"; }

fail() {
  log "$*"
  for f in "$STATE/etcd.log" "$STATE/kube-apiserver.log"; do
    [ -s "$f" ] && { echo "----- last lines of $f -----" >&2; tail -n 40 "$f" >&2; }
  done
  "$HERE/down.sh" "$STATE" --keep-logs || true
  exit 1
}
trap 'fail "failed at line $LINENO: $BASH_COMMAND"' ERR

BIN="${E2E_BIN_DIR:-$("$HERE/build.sh")}"
for b in etcd kube-apiserver; do [ -x "$BIN/$b" ] || fail "missing $BIN/$b (run build.sh)"; done
command -v openssl >/dev/null || fail "openssl not found (run deps.sh)"
command -v curl >/dev/null || fail "curl not found (run deps.sh)"

# --- certificates --------------------------------------------------------------------------
cat >"$PKI/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# leaf NAME SUBJECT EXTENSIONS: key + certificate signed by the CA, valid for 2 days
leaf() {
  ec_key "$PKI/$1.key"
  openssl req -new -config "$PKI/openssl.cnf" -key "$PKI/$1.key" -subj "$2" -out "$PKI/$1.csr"
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 2 -extfile "$PKI/openssl.cnf" -extensions "$3" -out "$PKI/$1.crt" 2>/dev/null
  rm "$PKI/$1.csr"
}
ec_key "$PKI/ca.key"
openssl req -x509 -new -config "$PKI/openssl.cnf" -extensions ca -key "$PKI/ca.key" \
  -subj "/CN=kubectl-netpol-e2e-ca" -days 2 -out "$PKI/ca.crt"
leaf apiserver "/CN=kube-apiserver" server
leaf admin "/O=system:masters/CN=e2e-admin" client
leaf viewer "/O=e2e-viewers/CN=e2e-viewer" client
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"

# --- ports and data dir ----------------------------------------------------------------------
# Three distinct free loopback ports, held open together so they differ, then released.
read -r ETCD_CLIENT_PORT ETCD_PEER_PORT APISERVER_PORT < <(node -e '
  const net = require("net");
  const servers = [0, 1, 2].map(() => net.createServer().listen(0, "127.0.0.1"));
  Promise.all(servers.map((s) => new Promise((r) => s.on("listening", r)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" "));
    servers.forEach((s) => s.close());
  });')
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
# etcd fsyncs every write and 3.4 has no --unsafe-no-fsync: keep its data in memory when we can.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  ETCD_DATA_DIR="$(mktemp -d /dev/shm/kubectl-netpol-e2e-etcd.XXXXXX)"
else
  ETCD_DATA_DIR="$STATE/etcd-data"
  mkdir -p "$ETCD_DATA_DIR"
fi
record STATE_DIR "$STATE"
record ETCD_DATA_DIR "$ETCD_DATA_DIR"
record BIN_DIR "$BIN"

# --- etcd ------------------------------------------------------------------------------------
ETCD_URL="http://127.0.0.1:$ETCD_CLIENT_PORT"
ETCD_PEER_URL="http://127.0.0.1:$ETCD_PEER_PORT"
etcd_extra=()
# (Debian's 3.4 lacks --unsafe-no-fsync; 3.5+ has it. Help captured whole: see build.sh version_of.)
[[ "$("$BIN/etcd" --help 2>&1 || true)" == *--unsafe-no-fsync* ]] && etcd_extra+=(--unsafe-no-fsync)
"$BIN/etcd" --name=e2e --data-dir="$ETCD_DATA_DIR" \
  --listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
  --listen-peer-urls="$ETCD_PEER_URL" --initial-advertise-peer-urls="$ETCD_PEER_URL" \
  --initial-cluster="e2e=$ETCD_PEER_URL" --initial-cluster-state=new \
  --logger=zap --log-level=warn "${etcd_extra[@]}" \
  </dev/null >"$STATE/etcd.log" 2>&1 &
ETCD_PID=$!
record ETCD_PID "$ETCD_PID"
record ETCD_URL "$ETCD_URL"

# wait_for WHAT PID TIMEOUT CMD...: polls CMD every 0.2 s while PID lives
wait_for() {
  local what="$1" pid="$2" timeout="$3" deadline
  shift 3
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited before it was ready"
    [ "$SECONDS" -lt "$deadline" ] || fail "$what not ready after ${timeout}s"
    sleep 0.2
  done
}
wait_for etcd "$ETCD_PID" 30 curl -fsS "$ETCD_URL/health"

# --- kube-apiserver --------------------------------------------------------------------------
"$BIN/kube-apiserver" \
  --etcd-servers="$ETCD_URL" \
  --secure-port="$APISERVER_PORT" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
  --endpoint-reconciler-type=none \
  --cert-dir="$STATE/apiserver-certs" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --authorization-mode=RBAC \
  --disable-admission-plugins=ServiceAccount \
  --service-account-issuer="$APISERVER_URL/" \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --allow-privileged=true \
  --v=1 \
  </dev/null >"$STATE/kube-apiserver.log" 2>&1 &
APISERVER_PID=$!
record APISERVER_PID "$APISERVER_PID"
record APISERVER_URL "$APISERVER_URL"

admin_curl() { curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$@"; }
started=$SECONDS
wait_for kube-apiserver "$APISERVER_PID" "$READY_TIMEOUT" admin_curl "$APISERVER_URL/readyz"
log "kube-apiserver ready after $((SECONDS - started))s at $APISERVER_URL"

# --- kubeconfig ------------------------------------------------------------------------------
b64() { base64 -w0 <"$1"; }
KUBECONFIG_FILE="$STATE/kubeconfig"
cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: e2e-admin
  user:
    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")
- name: e2e-viewer
  user:
    client-certificate-data: $(b64 "$PKI/viewer.crt")
    client-key-data: $(b64 "$PKI/viewer.key")
contexts:
- name: e2e
  context:
    cluster: e2e
    user: e2e-admin
    namespace: default
- name: e2e-viewer
  context:
    cluster: e2e
    user: e2e-viewer
    namespace: default
current-context: e2e
EOF
chmod 600 "$KUBECONFIG_FILE"
record KUBECONFIG "$KUBECONFIG_FILE"

# --- RBAC for the restricted user: pods and namespaces readable, networkpolicies not ----------
post() { admin_curl -o /dev/null -X POST -H 'Content-Type: application/json' "$APISERVER_URL$1" -d "$2"; }
post /apis/rbac.authorization.k8s.io/v1/clusterroles '{
  "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
  "metadata": {"name": "e2e-viewer"},
  "rules": [{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}]}'
post /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{
  "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
  "metadata": {"name": "e2e-viewer"},
  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "e2e-viewer"},
  "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "e2e-viewer"}]}'

# The apiserver creates namespace default itself; wait for it like envtest does.
wait_for "namespace default" "$APISERVER_PID" 30 admin_curl "$APISERVER_URL/api/v1/namespaces/default"

# --- watchdog --------------------------------------------------------------------------------
if [ -n "${E2E_OWNER_PID:-}" ]; then
  # shellcheck disable=SC2016 # $1..$3 are the inner script's arguments
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; exec "$2" "$3"' \
    watchdog "$E2E_OWNER_PID" "$HERE/down.sh" "$STATE" </dev/null >>"$STATE/watchdog.log" 2>&1 &
  record WATCHDOG_PID "$!"
fi

trap - ERR
echo "$ENV_FILE"
