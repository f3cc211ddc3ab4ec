#!/usr/bin/env bash
# A longer run of test_follow.py's crash tests: `extract --follow` killed with
# SIGKILL at random points while `serve` takes tagged requests, then every 200
# checked to be in the Delta table once (read with delta-rs).
#
#   scripts/follow_soak.sh [CYCLES] [ROUNDS]
#
# CYCLES kills per round on the embedded log (default 500; the suite runs 50),
# a tenth of them on Kafka (one partition and three); ROUNDS rounds with
# different seeds (default 3). Needs `make build` and the unit test build's
# tools (build/kafka_admin), as `make test` leaves them.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-500}
rounds=${2:-3}
for round in $(seq 1 "$rounds"); do
  echo "follow soak: round $round of $rounds, $cycles kills (seed $round)"
  FOLLOW_SEED=$round FOLLOW_CYCLES=$cycles FOLLOW_KAFKA_CYCLES=$((cycles / 10)) \
    .venv/bin/pytest -q -x tests/integration/test_follow.py -k "killed_at_random_points"
done
