#!/usr/bin/env bash
# Multi-process training tests on loopback (issue 6). Usage: run_mwms_tests.sh CASE WORKER KEEL_LAUNCH
#   equivalence  2 workers under keel-launch (global batch 32) vs 1 process (batch 32): the workers' weights
#                are bitwise identical and match the single process within 1e-5
#   mpirun       the same 2 workers started by mpirun (Open MPI backend)
#   tf_config    the same 2 workers described by TF_CONFIG (chief + worker)
#   sigkill      rank 1 SIGKILLs itself mid-epoch: rank 0 exits non-zero with a clear error within 30 s
#   missing_peer a world of 2 where only rank 0 starts: a clear timeout error, no hang
set -uo pipefail
case_name=$1 worker=$2 launch=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; kill $(jobs -p) 2>/dev/null' EXIT
fail() { echo "FAIL: $*"; exit 1; }
train=(train --global-batch 32 --epochs 2)

single() {
  RANK=0 WORLD_SIZE=1 "$worker" "${train[@]}" --out "$tmp/single" || fail "single-process run"
}
check_pair() {  # the two workers agree bit for bit and follow the single process
  "$worker" compare "$tmp/$1.rank0" "$tmp/$1.rank1" 0 || fail "workers' weights differ"
  "$worker" compare "$tmp/$1.rank0" "$tmp/single.rank0" 1e-5 || fail "2 workers do not train like 1 process"
}
export OMP_NUM_THREADS=1

case $case_name in
  equivalence)
    single
    timeout 120 "$launch" --nproc 2 -- "$worker" "${train[@]}" --out "$tmp/two" | tee "$tmp/log" ||
      fail "keel-launch run"
    [ "$(grep -c 'of 2: .*backend gloo' "$tmp/log")" -eq 2 ] || fail "expected 2 workers over Gloo"
    check_pair two ;;
  mpirun)
    single
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
    timeout 120 mpirun -np 2 --allow-run-as-root --oversubscribe --mca btl self,tcp --mca btl_tcp_if_include lo \
      "$worker" "${train[@]}" --out "$tmp/mpi" | tee "$tmp/log" || fail "mpirun run"
    [ "$(grep -c 'of 2: .*backend mpi' "$tmp/log")" -eq 2 ] || fail "expected 2 workers over MPI"
    check_pair mpi ;;
  tf_config)
    single
    p0=$("$worker" free-port) p1=$("$worker" free-port)
    cluster="\"cluster\": {\"chief\": [\"127.0.0.1:$p0\"], \"worker\": [\"127.0.0.1:$p1\"]}"
    TF_CONFIG="{$cluster, \"task\": {\"type\": \"chief\", \"index\": 0}}" \
      timeout 120 "$worker" "${train[@]}" --out "$tmp/tf" & chief=$!
    TF_CONFIG="{$cluster, \"task\": {\"type\": \"worker\", \"index\": 0}}" \
      timeout 120 "$worker" "${train[@]}" --out "$tmp/tf" || fail "TF_CONFIG worker"
    wait $chief || fail "TF_CONFIG chief"
    check_pair tf ;;
  sigkill)
    port=$("$worker" free-port)
    start=$(date +%s)
    RANK=1 WORLD_SIZE=2 MASTER_PORT=$port "$worker" "${train[@]}" --epochs 50 --die-at-batch 3 --out "$tmp/k" &
    victim=$!
    RANK=0 WORLD_SIZE=2 MASTER_PORT=$port timeout 60 "$worker" "${train[@]}" --epochs 50 --out "$tmp/k" \
      2>"$tmp/err"; status=$?
    elapsed=$(( $(date +%s) - start ))
    wait $victim; victim_status=$?
    cat "$tmp/err"
    [ $victim_status -eq 137 ] || fail "rank 1 was meant to die by SIGKILL (status $victim_status)"
    [ $status -ne 0 ] && [ $status -ne 124 ] || fail "rank 0 exited with status $status (124: it hung)"
    [ $elapsed -le 30 ] || fail "rank 0 took $elapsed s to notice the lost worker"
    grep -q "UnavailableError" "$tmp/err" || fail "rank 0's error does not say the peer is unavailable"
    echo "rank 0 exited with status $status after $elapsed s" ;;
  missing_peer)
    port=$("$worker" free-port)
    start=$(date +%s)
    KEEL_COLLECTIVE_TIMEOUT_S=3 RANK=0 WORLD_SIZE=2 MASTER_PORT=$port timeout 60 "$worker" "${train[@]}" \
      --out "$tmp/m" 2>"$tmp/err"; status=$?
    elapsed=$(( $(date +%s) - start ))
    cat "$tmp/err"
    [ $status -ne 0 ] && [ $status -ne 124 ] || fail "rank 0 exited with status $status (124: it hung)"
    [ $elapsed -le 20 ] || fail "rank 0 took $elapsed s to give up"
    grep -q "DeadlineExceededError" "$tmp/err" || fail "the error does not say the wait timed out" ;;
  *) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
