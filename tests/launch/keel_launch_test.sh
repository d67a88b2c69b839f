#!/usr/bin/env bash
# keel-launch end to end: keel_launch_test.sh KEEL_LAUNCH CASE runs one case with small shell scripts as the
# launched program (each writes what it saw into a per-test folder). Exits non-zero with a message on failure.
set -uo pipefail
launcher=$1
case_name=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/keel_launch_${case_name}.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL ($case_name): $*" >&2
  [ -f "$work/stderr" ] && { echo "--- keel-launch stderr:" >&2; cat "$work/stderr" >&2; }
  exit 1
}
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
expect_stderr() { grep -qF -- "$1" "$work/stderr" || fail "stderr lacks '$1'"; }

# A program from its body, run by bash; $DIR is the test folder.
program() {
  local path="$work/$1.sh"
  { echo '#!/usr/bin/env bash'; echo "DIR='$work'"; cat; } >"$path"
  chmod +x "$path"
  echo "$path"
}

# Runs keel-launch (bounded by `timeout`, so a hang fails instead of blocking); sets $status and $elapsed (s).
launch() {
  local start=$SECONDS
  timeout 30 "$launcher" "$@" >"$work/stdout" 2>"$work/stderr"
  status=$?
  elapsed=$((SECONDS - start))
}

wait_for_files() {  # wait_for_files N PATTERN: up to 10 s for N files matching PATTERN in $work
  for _ in $(seq 100); do
    [ "$(find "$work" -maxdepth 1 -name "$2" | wc -l)" -ge "$1" ] && return 0
    sleep 0.1
  done
  fail "only $(find "$work" -maxdepth 1 -name "$2" | wc -l) of $1 '$2' files appeared"
}

# The rank whose pid is in pid.RANK started and is no longer running.
rank_gone() {
  [ -s "$work/pid.$1" ] || fail "rank $1 never started"
  ! kill -0 "$(cat "$work/pid.$1")" 2>/dev/null
}

case "$case_name" in
  environment)
    # Every rank sees its variables; one free port shared by all; OMP_NUM_THREADS=1 by default.
    p=$(program env <<'EOF'
echo "$RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT $OMP_NUM_THREADS $1" >"$DIR/rank.$RANK"
EOF
)
    unset OMP_NUM_THREADS
    launch --nproc 3 "$p" arg1
    expect_eq "$status" 0 "exit status"
    port=$(cut -d' ' -f6 "$work/rank.0")
    { [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } || fail "MASTER_PORT '$port' is not a port"
    for r in 0 1 2; do
      expect_eq "$(cat "$work/rank.$r")" "$r 3 $r 3 127.0.0.1 $port 1 arg1" "rank $r's variables"
    done
    ;;
  cluster_secret)
    # Every rank gets the same fresh job secret (32 random bytes in hex), a new one per run; one the user set
    # is passed on unchanged.
    p=$(program secret <<'EOF'
echo "$KEEL_CLUSTER_SECRET" >"$DIR/secret.$RANK"
EOF
)
    unset KEEL_CLUSTER_SECRET
    launch --nproc 3 "$p"
    expect_eq "$status" 0 "exit status"
    first=$(cat "$work/secret.0")
    [[ "$first" =~ ^[0-9a-f]{64}$ ]] || fail "KEEL_CLUSTER_SECRET '$first' is not 64 hex digits"
    for r in 1 2; do expect_eq "$(cat "$work/secret.$r")" "$first" "rank $r's secret"; done
    launch --nproc 1 "$p"
    [ "$(cat "$work/secret.0")" != "$first" ] || fail "two runs got the same secret $first"
    KEEL_CLUSTER_SECRET=chosen-by-the-user-0123456789 launch --nproc 2 "$p"
    for r in 0 1; do expect_eq "$(cat "$work/secret.$r")" "chosen-by-the-user-0123456789" "rank $r's secret"; done
    ;;
  explicit_master)
    # --master-addr/--master-port (= and separate forms), and an OMP_NUM_THREADS already set is kept.
    p=$(program env <<'EOF'
echo "$MASTER_ADDR $MASTER_PORT $OMP_NUM_THREADS" >"$DIR/rank.$RANK"
EOF
)
    OMP_NUM_THREADS=4 launch --nproc=2 --master-addr localhost --master-port=23456 -- "$p"
    expect_eq "$status" 0 "exit status"
    expect_eq "$(cat "$work/rank.1")" "localhost 23456 4" "rank 1's variables"
    ;;
  failure_ends_the_others)
    # Rank 1 exits 3 while rank 0 sleeps: keel-launch reports rank 1, stops rank 0 and exits 3.
    p=$(program fail <<'EOF'
echo $$ >"$DIR/pid.$RANK"
if [ "$RANK" = 1 ]; then sleep 0.3; exit 3; fi
exec sleep 30
EOF
)
    launch --nproc 2 "$p"
    expect_eq "$status" 3 "exit status"
    [ "$elapsed" -le 4 ] || fail "took ${elapsed} s"
    expect_stderr "keel-launch: rank 1 (pid $(cat "$work/pid.1")) exited with status 3"
    rank_gone 0 || fail "rank 0 is still running"
    ;;
  killed_by_signal)
    p=$(program sigkill <<'EOF'
echo $$ >"$DIR/pid.$RANK"
if [ "$RANK" = 1 ]; then sleep 0.3; kill -KILL $$; fi
exec sleep 30
EOF
)
    launch --nproc 2 "$p"
    expect_eq "$status" 137 "exit status"
    expect_stderr "keel-launch: rank 1 (pid $(cat "$work/pid.1")) was killed by signal SIGKILL"
    rank_gone 0 || fail "rank 0 is still running"
    ;;
  sigkill_after_grace)
    # Rank 0 ignores SIGTERM: it gets SIGKILL once the 5 s grace period is over.
    p=$(program stubborn <<'EOF'
echo $$ >"$DIR/pid.$RANK"
if [ "$RANK" = 1 ]; then sleep 0.3; exit 1; fi
trap '' TERM
exec sleep 30
EOF
)
    launch --nproc 2 "$p"
    expect_eq "$status" 1 "exit status"
    { [ "$elapsed" -ge 4 ] && [ "$elapsed" -le 9 ]; } || fail "took ${elapsed} s, expected about 5"
    expect_stderr "still running after 5 s; sending SIGKILL"
    rank_gone 0 || fail "rank 0 is still running"
    ;;
  forwards_sigterm | forwards_sighup)
    sig=${case_name#forwards_sig}
    sig=${sig^^}
    # Each rank records the signal it got and exits 0; keel-launch then exits 128 + the signal.
    p=$(program forward <<EOF
trap 'kill \$child 2>/dev/null; echo $sig >"\$DIR/got.\$RANK"; exit 0' $sig
sleep 30 >/dev/null 2>&1 &
child=\$!
echo ready >"\$DIR/ready.\$RANK"
wait \$child
EOF
)
    # Not under `timeout`, which would signal the whole process group itself.
    "$launcher" --nproc 2 "$p" >"$work/stdout" 2>"$work/stderr" &
    launcher_pid=$!
    wait_for_files 2 'ready.*'
    kill -"$sig" "$launcher_pid"
    wait "$launcher_pid"
    status=$?
    expect_eq "$status" $((128 + $(kill -l "$sig"))) "exit status"
    for r in 0 1; do
      [ -f "$work/got.$r" ] || fail "rank $r did not get SIG$sig"
      expect_eq "$(cat "$work/got.$r")" "$sig" "rank $r's signal"
    done
    expect_stderr "got SIG$sig; forwarding it to 2 rank(s)"
    ;;
  bad_arguments)
    for args in "" "--nproc 0 true" "--nproc abc true" "--nproc" "--master-port 70000 true" "--bogus true" \
                "-x true"; do
      # shellcheck disable=SC2086  # split on purpose
      launch $args
      expect_eq "$status" 2 "exit status for '$args'"
      expect_stderr "usage: keel-launch"
    done
    launch --help
    expect_eq "$status" 0 "exit status for --help"
    grep -qF "OMP_NUM_THREADS=1" "$work/stdout" || fail "--help does not mention OMP_NUM_THREADS"
    ;;
  missing_program)
    launch --nproc 2 "$work/no-such-program"
    expect_eq "$status" 127 "exit status"
    expect_stderr "cannot start rank 0"
    ;;
  *)
    fail "unknown case"
    ;;
esac
echo "PASS ($case_name)"
