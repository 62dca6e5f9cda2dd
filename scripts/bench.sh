#!/usr/bin/env bash
# Runs each load scenario 3 times (release build, --json) and prints each figure as
# "median (min – max)": the numbers BENCHMARKS.md reports.
#
#   scripts/bench.sh                 # every scenario
#   scripts/bench.sh throughput-max  # the ones named
#   BEFORE=/other/target/release/bluetick-load scripts/bench.sh throughput-max
#                                    # interleaved against another build: before run 1,
#                                    # after run 1, before run 2, … (build the other
#                                    # commit in its own target dir: cargo may otherwise
#                                    # reuse a stale binary)
#
# Results are kept in bench-results/ (one JSON report per run). Every run must keep
# an exact ledger; a run that does not is reported and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=target}"
RUNS="${RUNS:-3}"
B="$CARGO_TARGET_DIR/release/bluetick-load"
cargo build --release -p bluetick-load >&2
# mqtt-baseline runs Debian's mosquitto: installed here, when missing, and only when that
# scenario is to run (the test path never needs it).
if (($# == 0)) || [[ " $* " == *" mqtt-baseline "* ]]; then
  scripts/install-tools.sh --mosquitto >&2
fi
OUT=bench-results
mkdir -p "$OUT"
failed=0

# name | arguments | figures (jq paths into the report)
SCENARIOS=(
  "throughput-max|throughput --pairs 64 --duration 10 --window 16|.figures.msgs_per_s .latency.send_to_recipient.p50_ms .latency.send_to_delivered_tick.p50_ms .latency.send_to_delivered_tick.p99_ms .figures.server_cpu_us_per_msg"
  "throughput-1000|throughput --pairs 64 --duration 10 --rate 1000 --window 256|.figures.msgs_per_s .latency.send_to_recipient.p50_ms .latency.send_to_recipient.p99_ms .latency.send_to_delivered_tick.p50_ms .latency.send_to_delivered_tick.p99_ms .figures.server_cpu_us_per_msg"
  "throughput-5000|throughput --pairs 64 --duration 10 --rate 5000 --window 256|.figures.msgs_per_s .latency.send_to_recipient.p50_ms .latency.send_to_recipient.p99_ms .latency.send_to_delivered_tick.p50_ms .latency.send_to_delivered_tick.p99_ms .figures.server_cpu_us_per_msg"
  "throughput-500|throughput --pairs 64 --duration 10 --rate 500 --window 256|.figures.msgs_per_s .latency.send_to_recipient.p50_ms .latency.send_to_recipient.p99_ms .latency.send_to_delivered_tick.p50_ms .latency.send_to_delivered_tick.p90_ms .latency.send_to_delivered_tick.p99_ms .latency.send_to_delivered_tick.max_ms"
  "relay-baseline|relay-baseline --pairs 64 --duration 10 --window 16|.figures.relay_msgs_per_s .figures.bluetick_msgs_per_s .figures.fraction_of_relay .latency.relay_send_to_delivered_tick.p99_ms"
  "mqtt-baseline|mqtt-baseline --pairs 64 --duration 10 --window 16|.figures.msgs_per_s .latency.send_to_subscriber.p50_ms .latency.send_to_subscriber.p99_ms .latency.send_to_pubcomp.p50_ms .latency.send_to_pubcomp.p99_ms .figures.server_cpu_us_per_msg"
  "connections|connections --count 100000 --hold 35|.figures.connections_held .figures.server_bytes_per_connection .figures.server_rss_held_mib .figures.client_bytes_per_connection .figures.connect_s"
  "fanout|fanout --members 1023 --sends 50 --duration 10 --window 8|.latency.send_to_last_member.p50_ms .latency.send_to_last_member.p99_ms .latency.send_to_group_delivered.p50_ms .latency.send_to_group_delivered.p99_ms .figures.member_deliveries_per_s"
  "reconnect-storm|reconnect-storm --clients 5000 --messages 2|.figures.all_back_and_drained_s .figures.all_messages_received_s .latency.drop_to_back_and_drained.p50_ms .latency.drop_to_back_and_drained.p99_ms"
  "classroom|classroom --students 30|.figures.students_finished .figures.seconds .details.steps.connect.reaction.connect.p99_ms .details.steps.drop.reaction.reconnect.p99_ms .details.steps.offline_queue.reaction.offline_queue.p99_ms .details.steps.ticks.reaction.ticks_read.p99_ms .details.steps.expiry.reaction.expiry_late.p99_ms .details.steps.fanout.reaction.fanout.p99_ms .details.steps.presence.reaction.presence.p99_ms .details.steps.encrypted.reaction.encrypted.p99_ms .details.steps.load_run.reaction.load_run.p99_ms .details.steps.load_run.reaction.load_run_total.max_ms"
  "crowd-cost|crowd-cost --members 3000 --hold 10|.figures.members_online .figures.server_bytes_per_member .figures.server_fds_per_member .figures.server_cpu_us_per_member_s .figures.connect_s"
  "chaos|chaos --pairs 32 --duration 15 --kills 3|.figures.msgs_per_s .figures.sigkills .figures.reconnects .ledger.sent .ledger.lost .ledger.duplicated"
)

want=("$@")
builds=(after)
if [[ -n "${BEFORE:-}" ]]; then builds=(before after); fi
binary() { if [[ $1 == before ]]; then echo "$BEFORE"; else echo "$B"; fi; }
for entry in "${SCENARIOS[@]}"; do
  IFS='|' read -r name args figures <<<"$entry"
  if ((${#want[@]})) && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  for i in $(seq 1 "$RUNS"); do
    for build in "${builds[@]}"; do
      report="$OUT/$name-$build-$i.json"
      echo "== $name run $i ($build): bluetick-load $args" >&2
      # shellcheck disable=SC2086
      if ! "$(binary "$build")" --json $args >"$report"; then
        echo "!! $name run $i ($build) failed: $(jq -r '.verdict + " " + (.failures|join("; "))' "$report" 2>/dev/null)" >&2
        failed=1
      fi
    done
  done
  for build in "${builds[@]}"; do
    echo "$name ($build):"
    for f in $figures; do
      values=$(for i in $(seq 1 "$RUNS"); do jq -r "$f // \"null\"" "$OUT/$name-$build-$i.json" 2>/dev/null || echo null; done | sort -g)
      read -r -a v <<<"$(echo $values)"
      n=${#v[@]}
      echo "  $f: median ${v[$((n / 2))]} (min ${v[0]}, max ${v[$((n - 1))]})  runs: $(echo $values)"
    done
    for i in $(seq 1 "$RUNS"); do echo "  run $i verdict: $(jq -r .verdict "$OUT/$name-$build-$i.json" 2>/dev/null)"; done
  done
done
exit $failed
