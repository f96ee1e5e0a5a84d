#!/usr/bin/env bash
# Makes fixtures/realstack/: the five seed scenarios (normal call, transfer,
# pickup with *8, 3-way conference, sequential ring after 486) played by real
# SIP stacks -- several SIPp instances on loopback, one per role -- and
# captured with tcpdump on lo.
#
#   tools/realstack/make_captures.sh [OUTDIR] [SCENARIO...]
#
# OUTDIR defaults to fixtures/realstack; SCENARIO is any of 1-normal
# 2-transfer 3-pickup 4-conference 5-sequential (default: all five). For
# each one it writes OUTDIR/<n>-<scenario>.pcap and tshark's reference
# figures beside it (FILE.sipstat.txt, FILE.rtpstreams.txt).
#
# Roles and addresses (each SIPp instance binds its own 127.0.1.x address):
#   server (Centrex B2BUA, registrar) 127.0.1.104:5060, RTP from 30000,
#     its own Call-IDs end in @127.0.1.77 (as the site's do in @...77)
#   phone A (109Q1428, ext 1428)      127.0.1.54:5060,  RTP from 10000
#   phone B (109Q1427, ext 1427)      127.0.1.55:5060,  RTP from 12000
# The external caller (01077141436, and 0212345678 in 5-sequential) sits
# behind the server's trunk, which is not on the phones' LAN: as in the
# site's captures, only the server <-> phone legs are captured, and the
# server plays the caller's voice on them.
#
# Needs root (tcpdump, and SIPp's play_pcap_audio sends RTP through a raw
# socket), sipp (SIPp 3.6.1, Debian sip-tester), tcpdump, tshark, deno.
# Every process runs under `timeout`; all are killed on exit (trap).
# KEEP_WORK=1 keeps the work directory (SIPp logs, raw captures);
# VERBOSE=1 prints each capture's SIP ladder as tshark reads it.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/fixtures/realstack}
shift || true
SCENARIOS=("$@")
if [ ${#SCENARIOS[@]} -eq 0 ]; then
  SCENARIOS=(1-normal 2-transfer 3-pickup 4-conference 5-sequential)
fi

SERVER=127.0.1.104
PHONE_A=127.0.1.54
PHONE_B=127.0.1.55
TRUNK=127.0.1.77
SIP_PORT=5060
SERVER_RTP=30000
PHONE_A_RTP=10000
PHONE_B_RTP=12000
# Longest a scenario's SIPp instance may run, seconds.
INSTANCE_LIMIT=40
# Only the lab's own addresses, and only UDP: SIPp's RTP goes out through a
# raw socket to ports nobody binds, and the kernel's ICMP port-unreachable
# answers are not part of the calls.
CAPTURE_FILTER="udp and src net 127.0.1.0/24 and dst net 127.0.1.0/24"

for tool in sipp tcpdump tshark deno sha1sum timeout; do
  command -v "$tool" >/dev/null || { echo "make_captures.sh: $tool is not installed" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
  echo "make_captures.sh: must run as root (tcpdump, SIPp raw-socket RTP)" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/realstack.XXXXXX)
PIDS=()
TCPDUMP_PID=

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}" $TCPDUMP_PID; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ] || [ $status -ne 0 ]; then
    echo "make_captures.sh: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# hexid TEXT LENGTH: the first LENGTH hex digits of SHA-1(TEXT), so that
# Call-IDs are fixed by the design (expected/*.json lists them).
hexid() {
  printf '%s' "$1" | sha1sum | cut -c1-"$2"
}

# start NAME ARGS...: runs one SIPp instance in the background, from $WORK,
# bounded in time, with its screen output in $WORK/NAME.log.
start() {
  local name=$1
  shift
  (cd "$WORK" && exec timeout --kill-after=2 "$INSTANCE_LIMIT" sipp "$@" -nd -nostdin \
    -trace_err -error_file "$WORK/$name.errors.log" -timeout "${INSTANCE_LIMIT}s" \
    -timeout_error >"$WORK/$name.log" 2>&1) &
  PIDS+=($!)
  eval "PID_${name//-/_}=$!"
}

# finish NAME...: waits for the named instances; fails if one did not end well.
finish() {
  local name pid_var pid rc failed=0
  for name in "$@"; do
    pid_var="PID_${name//-/_}"
    pid=${!pid_var}
    rc=0
    wait "$pid" || rc=$?
    if [ $rc -ne 0 ]; then
      echo "make_captures.sh: SIPp instance $name exited with status $rc; its screen:" >&2
      tail -n 30 "$WORK/$name.log" >&2 || true
      head -c 4000 "$WORK/$name.errors.log" >&2 2>/dev/null || true
      failed=1
    fi
  done
  [ $failed -eq 0 ]
}

capture_start() {
  local file=$1
  tcpdump -i lo -U --immediate-mode -s 0 -Z root -w "$file" "$CAPTURE_FILTER" \
    >"$WORK/tcpdump.log" 2>&1 &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do
    grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.2
}

capture_stop() {
  sleep 0.3
  kill -INT "$TCPDUMP_PID"
  wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
}

# register N ROUND: both phones register with the server (401 -> 200).
register() {
  local n=$1 round=$2
  start "reg-server-$round" -sf register_server.xml -i "$SERVER" -p "$SIP_PORT" -m 2
  sleep 0.3
  start "reg-a-$round" "$SERVER:$SIP_PORT" -sf register_phone.xml -i "$PHONE_A" \
    -p "$SIP_PORT" -m 1 -s 109Q1428 -au 109Q1428 -ap rs-109Q1428 \
    -set disp "07086661428,1428" -set tg "${n}A${round}e54c" \
    -cid_str "%u$(hexid "packetwave-realstack-$n-register-109Q1428-$round" 31)@$PHONE_A"
  finish "reg-a-$round"
  start "reg-b-$round" "$SERVER:$SIP_PORT" -sf register_phone.xml -i "$PHONE_B" \
    -p "$SIP_PORT" -m 1 -s 109Q1427 -au 109Q1427 -ap rs-109Q1427 \
    -set disp "07086661427,1427" -set tg "${n}B${round}e55c" \
    -cid_str "%u$(hexid "packetwave-realstack-$n-register-109Q1427-$round" 31)@$PHONE_B"
  finish "reg-b-$round" "reg-server-$round"
  sleep 0.5
}

# Common SIPp arguments of the three roles in the call phase.
server_args() {
  echo -i "$SERVER" -p "$SIP_PORT" -mi "$SERVER" -mp "$SERVER_RTP"
}
phone_a_args() {
  echo -i "$PHONE_A" -p "$SIP_PORT" -mi "$PHONE_A" -mp "$PHONE_A_RTP"
}
phone_b_args() {
  echo -i "$PHONE_B" -p "$SIP_PORT" -mi "$PHONE_B" -mp "$PHONE_B_RTP"
}
server_cid() {
  echo "%u$(hexid "packetwave-realstack-$1-server" 39)@$TRUNK"
}
phone_cid() {
  echo "%u$(hexid "packetwave-realstack-$1-$2" 31)@$3"
}

scenario_1() {
  register 1 1
  start s1-b -sf s1_phone_b.xml $(phone_b_args) -m 1
  sleep 0.3
  start s1-server "$PHONE_B:$SIP_PORT" -sf s1_server.xml $(server_args) -m 1 \
    -cid_str "$(server_cid 1)"
  finish s1-server s1-b
}

scenario_2() {
  register 2 1
  start s2-a -sf s2_phone_a.xml $(phone_a_args) -m 1
  start s2-b -sf s2_phone_b.xml $(phone_b_args) -m 1
  sleep 0.3
  start s2-server "$PHONE_B:$SIP_PORT" -sf s2_server.xml $(server_args) -m 2 \
    -cid_str "$(server_cid 2)"
  finish s2-server s2-b s2-a
}

scenario_3() {
  register 3 1
  start s3-b -sf s3_phone_b.xml $(phone_b_args) -m 1
  start s3-a "$SERVER:$SIP_PORT" -sf s3_phone_a.xml $(phone_a_args) -m 1 \
    -au 109Q1428 -ap rs-109Q1428 -cid_str "$(phone_cid 3 phoneA "$PHONE_A")"
  sleep 0.3
  start s3-server "$PHONE_B:$SIP_PORT" -sf s3_server.xml \
    -oocsf s3_server_ooc.xml $(server_args) -m 1 -cid_str "$(server_cid 3)"
  finish s3-server s3-b s3-a
}

scenario_4() {
  register 4 1
  start s4-a -sf s4_phone_a.xml $(phone_a_args) -m 1
  start s4-b "$SERVER:$SIP_PORT" -sf s4_phone_b.xml -oocsf s4_phone_b_ooc.xml \
    $(phone_b_args) -m 1 -au 109Q1427 -ap rs-109Q1427 -cid_str "$(phone_cid 4 phoneB "$PHONE_B")"
  sleep 0.3
  start s4-server "$PHONE_B:$SIP_PORT" -sf s4_server.xml -oocsf s4_server_ooc.xml \
    $(server_args) -m 2 -cid_str "$(server_cid 4)"
  finish s4-server s4-b s4-a
}

scenario_5() {
  register 5 1
  start s5-a -sf s5_phone_a.xml $(phone_a_args) -m 1
  start s5-b -sf s5_phone_b.xml $(phone_b_args) -m 2
  sleep 0.3
  start s5-server "$PHONE_B:$SIP_PORT" -sf s5_server.xml $(server_args) -m 3 \
    -cid_str "$(server_cid 5)"
  finish s5-server s5-b s5-a
  # The registrations are refreshed after the calls (the site's capture ran
  # three minutes, one Expires: 180 cycle; this one does not wait for it).
  register 5 2
}

scenario_name() {
  case $1 in
    1-normal) echo 1 ;;
    2-transfer) echo 2 ;;
    3-pickup) echo 3 ;;
    4-conference) echo 4 ;;
    5-sequential) echo 5 ;;
    *) echo "make_captures.sh: unknown scenario $1" >&2; return 1 ;;
  esac
}

mkdir -p "$OUT" "$WORK/rtp"
cp "$HERE"/*.xml "$WORK/"
deno run --allow-write "$HERE/rtp_clips.ts" "$WORK/rtp" >/dev/null

for scenario in "${SCENARIOS[@]}"; do
  n=$(scenario_name "$scenario")
  raw="$WORK/$scenario.pcap"
  echo "== $scenario"
  capture_start "$raw"
  "scenario_$n"
  capture_stop
  cp "$raw" "$OUT/$scenario.pcap"
  tshark -r "$OUT/$scenario.pcap" -q -z sip,stat >"$OUT/$scenario.pcap.sipstat.txt" 2>/dev/null
  tshark -r "$OUT/$scenario.pcap" -q -o rtp.heuristic_rtp:TRUE -z rtp,streams \
    >"$OUT/$scenario.pcap.rtpstreams.txt" 2>/dev/null
  echo "   $(tshark -r "$OUT/$scenario.pcap" -Y sip 2>/dev/null | wc -l) SIP messages," \
    "$(grep -c '^ *[0-9.]* *[0-9.]* *127' "$OUT/$scenario.pcap.rtpstreams.txt") RTP streams," \
    "$(stat -c %s "$OUT/$scenario.pcap") bytes"
  if [ "${VERBOSE:-0}" = 1 ]; then
    tshark -r "$OUT/$scenario.pcap" -Y sip -T fields -e frame.time_relative -e ip.src \
      -e ip.dst -e _ws.col.Info 2>/dev/null | sed 's/^/   /'
  fi
done
