#!/bin/bash
# Interrupt `make demo` part-way with Ctrl-C (SIGINT to its process group), then run it
# again; prints how long each took and how many training jobs the first one recorded.
#   benchmarks/interrupt_resume.sh [SECONDS_BEFORE_CTRL_C] [ANSWER_CACHE]
# Start from a fresh answer cache and no results/ folder to time a cold run. Ctrl-C is
# delivered as from a terminal: the launcher restores SIGINT's default action (a job
# started in the background inherits it ignored) and puts make in its own process group.
set -u
after=${1:-280}
cache=${2:-/tmp/interrupt_resume/answers.sqlite}
cd "$(dirname "$0")/.."
launch=(python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])')
start=$(date +%s.%N)
"${launch[@]}" make demo DEMO_ARGS="--cache $cache --no-progress" > /tmp/interrupt_resume_first.log 2>&1 &
pid=$!
sleep "$after"
kill -INT -- -"$pid"
wait "$pid"
echo "first rc $? after $(echo "$(date +%s.%N) - $start" | bc) s"
echo "jobs recorded: $(ls results/jobs/jobs | wc -l)"
start=$(date +%s.%N)
"${launch[@]}" make demo DEMO_ARGS="--cache $cache --no-progress" > /tmp/interrupt_resume_second.log 2>&1
echo "second rc $? after $(echo "$(date +%s.%N) - $start" | bc) s"
