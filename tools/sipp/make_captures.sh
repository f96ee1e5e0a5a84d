#!/usr/bin/env bash
# Makes the real SIP/RTP fixture captures in fixtures/sipp/ with sipp on
# loopback: caller (UAC) 127.0.0.10, callee (UAS) 127.0.0.20, SIP on port
# 5060 on both sides (tshark decodes SIP on 5060 only). RTP comes from
# sipp's own pcaps (Debian package sip-tester, /usr/share/sip-tester/),
# cut and rebased by rtp_clip.ts so each side of each call is one RTP
# stream with its own SSRC. Then it derives the variants (pcapng copy,
# impaired copy) and writes tshark's reference figures beside every file.
#
# Usage: tools/sipp/make_captures.sh [OUTPUT_DIR]     (default fixtures/sipp)
#
# Needs: sipp, tcpdump, tshark, editcap, capinfos, deno. tcpdump needs root
# (or CAP_NET_RAW); so does sipp, whose play_pcap_audio sends RTP through a
# raw socket. Run as root, or as a user with passwordless sudo: then only
# tcpdump and sipp run through `sudo -n`. Re-runnable: every output file is
# replaced. Takes about a minute.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIPP_MEDIA=${SIPP_MEDIA:-/usr/share/sip-tester}

CALLER_IP=127.0.0.10
CALLEE_IP=127.0.0.20
SIP_PORT=5060
CAPTURE_FILTER="host $CALLER_IP or host $CALLEE_IP"
SIPP_TIMEOUT=60s

die() {
  echo "make_captures: $*" >&2
  exit 1
}
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing: install $2"
}
need sipp "the Debian package sip-tester"
need tcpdump "the Debian package tcpdump"
need tshark "the Debian package tshark"
need editcap "the Debian package wireshark-common"
need capinfos "the Debian package wireshark-common"
need deno "Deno 2 (https://deno.com)"
[[ -r $SIPP_MEDIA/g711a.pcap && -r $SIPP_MEDIA/dtmf_2833_1.pcap ]] ||
  die "sipp's RTP pcaps are not in $SIPP_MEDIA (set SIPP_MEDIA)"

OUT=$(mkdir -p "${1:-$ROOT/fixtures/sipp}" && cd "${1:-$ROOT/fixtures/sipp}" && pwd)

AS_ROOT=()
if [[ $EUID -ne 0 ]]; then
  sudo -n true 2>/dev/null ||
    die "tcpdump and sipp's play_pcap_audio need root: run as root or allow 'sudo -n'"
  AS_ROOT=(sudo -n)
fi
# tcpdump drops privileges after opening the device; let it write as us.
RUN_USER=$(id -un)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/packetwave-sipp.XXXXXX")
chmod 755 "$WORK"
TCPDUMP_PID=""
UAS_PID=""
UAC_PID=""
cleanup() {
  local status=$?
  [[ -n $UAC_PID ]] && kill "$UAC_PID" 2>/dev/null || true
  [[ -n $UAS_PID ]] && kill "$UAS_PID" 2>/dev/null || true
  [[ -n $TCPDUMP_PID ]] && kill -INT "$TCPDUMP_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ $status -eq 0 ]]; then
    rm -rf "$WORK"
  else
    echo "make_captures: failed; sipp logs kept in $WORK" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
# Long steps run in the background and are awaited with `wait`, which a
# trapped signal interrupts at once (a foreground child would delay it).
trap 'exit 130' INT
trap 'exit 143' TERM

DENO=(deno run --quiet --allow-read --allow-write)
CLIP=("${DENO[@]}" "$HERE/rtp_clip.ts")

# --- media: cut from sipp's pcaps --------------------------------------------

# audio_clip OUT FIRST COUNT SSRC: packets FIRST.. of g711a.pcap, new SSRC, marker on.
audio_clip() {
  "${CLIP[@]}" "$SIPP_MEDIA/g711a.pcap" "$1" --first "$2" --count "$3" --ssrc "$4" --marker
}
# audio_next OUT FIRST COUNT PREV AFTER_MS: more of the same stream as PREV, started AFTER_MS later.
audio_next() {
  "${CLIP[@]}" "$SIPP_MEDIA/g711a.pcap" "$1" --first "$2" --count "$3" \
    --continue "$4" --start-after-ms "$5" --marker
}
# dtmf_next OUT DIGIT PREV AFTER_MS: one RFC 2833 digit (1..9, star, pound) on PREV's stream.
dtmf_next() {
  "${CLIP[@]}" "$SIPP_MEDIA/dtmf_2833_$2.pcap" "$1" --continue "$3" --start-after-ms "$4"
}

# --- capture and calls ---------------------------------------------------------

# start_capture FILE IFACE [DATALINK]
start_capture() {
  local file=$1 iface=$2 datalink=${3:-}
  local args=(-i "$iface" -n -U -s 0 -Z "$RUN_USER" -w "$file")
  [[ -n $datalink ]] && args+=(-y "$datalink")
  "${AS_ROOT[@]}" tcpdump "${args[@]}" "$CAPTURE_FILTER" 2>"$file.log" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do
    [[ -s $file ]] && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump failed: $(cat "$file.log")"
    sleep 0.1
  done
  [[ -s $file ]] || die "tcpdump did not start writing $file"
  sleep 0.5
}

stop_capture() {
  sleep 0.5 # let the last packets reach the capture
  kill -INT "$TCPDUMP_PID"
  wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=""
}

# run_calls RUNDIR UAC_XML UAS_XML CALLS TRANSPORT CALLER_MEDIA_PORT CALLEE_MEDIA_PORT
# Runs the UAS in the background and the UAC in the foreground, from RUNDIR
# (which holds media/), with a bounded call count and a global timeout.
run_calls() {
  local dir=$1 uac=$2 uas=$3 calls=$4 transport=$5 caller_mp=$6 callee_mp=$7
  local common=(-t "$transport" -m "$calls" -nostdin -timeout "$SIPP_TIMEOUT" -trace_err)
  # sipp finds the media/ clips relative to its working directory.
  pushd "$dir" >/dev/null
  "${AS_ROOT[@]}" sipp -sf "$HERE/$uas" -i "$CALLEE_IP" -p "$SIP_PORT" \
    -mi "$CALLEE_IP" -mp "$callee_mp" "${common[@]}" -error_file "$dir/uas_errors.log" \
    >"$dir/uas.out" 2>&1 &
  UAS_PID=$!
  sleep 0.5
  if ! kill -0 "$UAS_PID" 2>/dev/null; then
    popd >/dev/null
    cat "$dir/uas.out" >&2
    die "the sipp UAS ($uas) did not start"
  fi
  "${AS_ROOT[@]}" sipp -sf "$HERE/$uac" "$CALLEE_IP:$SIP_PORT" -s 1002 \
    -i "$CALLER_IP" -p "$SIP_PORT" -mi "$CALLER_IP" -mp "$caller_mp" \
    -l 1 -r 1 "${common[@]}" -timeout_error -error_file "$dir/uac_errors.log" \
    >"$dir/uac.out" 2>&1 &
  UAC_PID=$!
  popd >/dev/null
  local status=0
  wait "$UAC_PID" || status=$?
  UAC_PID=""
  local uas_status=0
  wait "$UAS_PID" || uas_status=$?
  UAS_PID=""
  if [[ $status -ne 0 || $uas_status -ne 0 ]]; then
    echo "--- $uac (exit $status)" >&2
    tail -n 20 "$dir/uac.out" "$dir"/uac_errors.log >&2 2>/dev/null || true
    echo "--- $uas (exit $uas_status)" >&2
    tail -n 20 "$dir/uas.out" "$dir"/uas_errors.log >&2 2>/dev/null || true
    die "sipp failed in $dir"
  fi
}

# new_run NAME: a fresh run directory with media/ for one sipp pair.
new_run() {
  local dir="$WORK/$1"
  mkdir -p "$dir/media"
  chmod -R 755 "$dir"
  echo "$dir"
}

# reference FILE: tshark's figures beside FILE, as /work/shared/captures does.
reference() {
  tshark -r "$1" -q -z sip,stat >"$1.sipstat.txt" 2>/dev/null
  tshark -r "$1" -q -o rtp.heuristic_rtp:TRUE -z rtp,streams >"$1.rtpstreams.txt" 2>/dev/null
}

# publish RAW NAME: copy a finished capture into OUT.
publish() {
  cp "$1" "$OUT/$2"
  chmod 644 "$OUT/$2"
  reference "$OUT/$2"
  echo "  $2: $(capinfos -c -M "$OUT/$2" | awk -F': *' '/Number of packets/ {print $2}') packets," \
    "$(stat -c %s "$OUT/$2") bytes"
}

# --- the call shapes -------------------------------------------------------------
# Run numbers nn give each sipp pair its own RTP ports (caller 16000+2nn,
# callee 20000+2nn) and SSRCs (caller 0xA11CE0nn, callee 0xB0B000nn).

# answered_media DIR NN: 3 s each way after the answer, then digits 1 5 9 # from the caller
# (clip starts 3300, 400, 400, 400 ms apart, as uac_answered.xml pauses).
answered_media() {
  local m=$1/media nn=$2
  audio_clip "$m/caller.pcap" 0 100 "0xA11CE0$nn"
  audio_clip "$m/callee.pcap" 118 100 "0xB0B000$nn"
  dtmf_next "$m/dtmf_1.pcap" 1 "$m/caller.pcap" 3300
  dtmf_next "$m/dtmf_5.pcap" 5 "$m/dtmf_1.pcap" 400
  dtmf_next "$m/dtmf_9.pcap" 9 "$m/dtmf_5.pcap" 400
  dtmf_next "$m/dtmf_pound.pcap" pound "$m/dtmf_9.pcap" 400
}

# plain_media DIR NN: 3 s each way after the answer.
plain_media() {
  local m=$1/media nn=$2
  audio_clip "$m/caller.pcap" 0 100 "0xA11CE0$nn"
  audio_clip "$m/callee.pcap" 118 100 "0xB0B000$nn"
}

# one_call NN UAC UAS TRANSPORT MEDIA_FN: one sipp pair, one call.
one_call() {
  local nn=$1 dir
  dir=$(new_run "run$nn")
  [[ -n $5 ]] && "$5" "$dir" "$nn"
  run_calls "$dir" "$2" "$3" 1 "$4" $((16000 + 2 * 10#$nn)) $((20000 + 2 * 10#$nn))
}

RAW="$WORK/raw"
mkdir -p "$RAW"
chmod 777 "$RAW"
echo "make_captures: writing to $OUT"

# 1. Answered, caller hangs up, DTMF 159#: two calls, UDP, Ethernet (lo).
start_capture "$RAW/answered_udp.pcap" lo
one_call 01 uac_answered.xml uas_answered.xml u1 answered_media
one_call 02 uac_answered.xml uas_answered.xml u1 answered_media
stop_capture
publish "$RAW/answered_udp.pcap" answered_udp.pcap

# 1b. The same file as pcapng.
editcap -F pcapng "$OUT/answered_udp.pcap" "$RAW/answered_udp.pcapng"
publish "$RAW/answered_udp.pcapng" answered_udp.pcapng

# 1c. The same file with RTP dropped, duplicated and reordered (see impair_capture.ts).
"${DENO[@]}" "$HERE/impair_capture.ts" "$OUT/answered_udp.pcap" "$RAW/answered_udp_impaired.pcap" \
  --report "$OUT/answered_udp_impaired.pcap.impair.json"
publish "$RAW/answered_udp_impaired.pcap" answered_udp_impaired.pcap

# 2. Answered, caller hangs up, DTMF 159#: one call, SIP over TCP, Ethernet.
start_capture "$RAW/answered_tcp.pcap" lo
one_call 03 uac_answered.xml uas_answered.xml t1 answered_media
stop_capture
publish "$RAW/answered_tcp.pcap" answered_tcp.pcap

# 3. Answered, the CALLEE hangs up: UDP, Linux cooked capture v1 (-i any).
start_capture "$RAW/callee_bye_udp_sll.pcap" any LINUX_SLL
one_call 04 uac_callee_bye.xml uas_callee_bye.xml u1 plain_media
stop_capture
publish "$RAW/callee_bye_udp_sll.pcap" callee_bye_udp_sll.pcap

# 4. Cancelled while ringing: UDP, Ethernet. No media.
start_capture "$RAW/cancelled_udp.pcap" lo
one_call 10 uac_cancel.xml uas_cancel.xml u1 ""
stop_capture
publish "$RAW/cancelled_udp.pcap" cancelled_udp.pcap

# 5. Busy (486): UDP, Ethernet.
start_capture "$RAW/busy_udp.pcap" lo
one_call 11 uac_rejected.xml uas_busy.xml u1 ""
stop_capture
publish "$RAW/busy_udp.pcap" busy_udp.pcap

# 6. Declined (603) after ringing: UDP, Ethernet.
start_capture "$RAW/declined_udp.pcap" lo
one_call 12 uac_rejected.xml uas_decline.xml u1 ""
stop_capture
publish "$RAW/declined_udp.pcap" declined_udp.pcap

# 7. Hold and resume by the caller: UDP, Ethernet. Clips of 67 packets (2 s),
# starts 2300 ms apart as uac_hold.xml pauses; the callee is silent while held.
hold_media() {
  local m=$1/media nn=$2
  audio_clip "$m/caller_1.pcap" 0 67 "0xA11CE0$nn"
  audio_next "$m/caller_2.pcap" 67 67 "$m/caller_1.pcap" 2300
  audio_next "$m/caller_3.pcap" 134 67 "$m/caller_2.pcap" 2300
  audio_clip "$m/callee_1.pcap" 100 67 "0xB0B000$nn"
  audio_next "$m/callee_2.pcap" 167 67 "$m/callee_1.pcap" 4600
}
start_capture "$RAW/hold_udp.pcap" lo
one_call 05 uac_hold.xml uas_hold.xml u1 hold_media
stop_capture
publish "$RAW/hold_udp.pcap" hold_udp.pcap

# 8. REGISTER 401 -> 200, then INVITE 407 -> INVITE with credentials -> answered: UDP, Ethernet.
start_capture "$RAW/auth_udp.pcap" lo
one_call 13 uac_register.xml uas_register.xml u1 ""
one_call 06 uac_auth.xml uas_auth.xml u1 plain_media
stop_capture
publish "$RAW/auth_udp.pcap" auth_udp.pcap

# 9. Early media (183 + SDP, RTP from the callee before the 200): UDP, Linux cooked v2.
early_media() {
  local m=$1/media nn=$2
  audio_clip "$m/callee_early.pcap" 118 67 "0xB0B000$nn"
  audio_next "$m/callee.pcap" 185 51 "$m/callee_early.pcap" 2300
  audio_clip "$m/caller.pcap" 0 67 "0xA11CE0$nn"
}
start_capture "$RAW/early_media_udp_sll2.pcap" any LINUX_SLL2
one_call 07 uac_early_media.xml uas_early_media.xml u1 early_media
stop_capture
publish "$RAW/early_media_udp_sll2.pcap" early_media_udp_sll2.pcap

echo "make_captures: done; $(du -sh "$OUT" | cut -f1) in $OUT"
