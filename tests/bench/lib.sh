#!/usr/bin/env bash
# Helpers shared by the benchmarks in this folder: ports, processes, CPU
# accounting from /proc, and an nginx `return 200` on loopback. Sourced.

# ---- set-up shared by the benchmarks -----------------------------------
# need_binary PATH NAME: dies with how to build NAME when PATH is missing.
need_binary() {
  [[ -x $1 ]] && return 0
  die "no $2 binary at $1; build it with
  cmake -S . -B build && cmake --build build -j2 --target $2
(or point BUILD_DIR at an existing build tree, e.g. BUILD_DIR=build-dev)"
}

# need_tools TOOL...: sets nginx_bin; dies naming the Debian packages of
# what is missing (nginx, curl and pgrep are always needed).
need_tools() {
  nginx_bin=/usr/sbin/nginx
  [[ -x $nginx_bin ]] || nginx_bin=$(command -v nginx || true)
  local missing=() tool
  [[ -n $nginx_bin && -x $nginx_bin ]] || missing+=(nginx-light)
  for tool in curl "$@"; do
    command -v "$tool" >/dev/null || missing+=("$([[ $tool == ab ]] && echo apache2-utils || echo "$tool")")
  done
  command -v pgrep >/dev/null || missing+=(procps)
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}; run scripts/setup.sh (it installs them)"
}

# bench_tmp NAME: a temp dir in $tmp, removed at exit (KEEP_TMP=1 keeps it),
# after every pid named in the array `stop_at_exit` is stopped.
stop_at_exit=()
bench_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
bench_cleanup() {
  local rc=$? var
  trap - EXIT INT TERM
  for var in "${stop_at_exit[@]}"; do stop_pid "${!var}"; done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}

stop_pid() { # pid: TERM, up to 5 s, then KILL
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# A port nobody listens on, on 127.0.0.1.
free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    return
  fi
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

# CPU ticks (utime+stime) of the given pids; /proc/PID/stat of a process
# covers all its threads.
cpu_ticks() {
  local ticks=0 pid line
  for pid in "$@"; do
    line=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    line=${line##*) } # fields from 3 (state) on; comm may hold spaces
    # shellcheck disable=SC2086
    set -- $line
    ticks=$((ticks + ${12} + ${13}))
  done
  echo "$ticks"
}

# Machine-wide busy (user+nice+system+irq+softirq) and steal ticks, from the
# first line of /proc/stat. irq and softirq count: a tick that lands in
# softirq work (loopback packet processing) done on behalf of a process goes
# to softirq here but to that process's stime in /proc/PID/stat.
machine_ticks() {
  local _cpu user nice sys _idle _iowait irq softirq steal _rest
  read -r _cpu user nice sys _idle _iowait irq softirq steal _rest </proc/stat
  echo "$((user + nice + sys + irq + softirq)) $steal"
}

# CPU seconds of this shell's reaped children, from `times`, into REPLY.
# Call it directly: in a command substitution `times` would report the
# subshell's children.
children_seconds() {
  times >"$tmp/times"
  REPLY=$(awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    printf "%.3f", t
  }' "$tmp/times")
}

# ---- nginx --------------------------------------------------------------
start_nginx() {
  local port i
  mkdir -p "$tmp/nginx"
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "ok"; }
  }
}
EOF
    "$nginx_bin" -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" 2>>"$tmp/nginx/stderr.log" &
    nginx_pid=$!
    for ((i = 0; i < 50; i++)); do
      kill -0 "$nginx_pid" 2>/dev/null || break
      if [[ $(http_code "http://127.0.0.1:$port/") == 200 ]] && [[ -n $(pgrep -P "$nginx_pid") ]]; then
        nginx_port=$port
        nginx_url="http://127.0.0.1:$port/"
        return 0
      fi
      sleep 0.1
    done
    stop_pid "$nginx_pid" # most likely the port was taken meanwhile: retry
    nginx_pid=""
  done
  tail -n 5 "$tmp/nginx/stderr.log" "$tmp/nginx/error.log" >&2 2>/dev/null || true
  die "nginx did not start"
}


median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
