#!/usr/bin/env bash
# scripts/redis-bench-ceiling.sh — the ceiling of one Redis server for
# settlements, beside what regie reaches on the same server, in one run.
#
#   scripts/redis-bench-ceiling.sh            from the repository root
#
# For each persistence setting (appendonly yes + appendfsync always,
# appendonly yes + appendfsync everysec, no persistence) it
#
#  1. starts a fresh redis-server on loopback and
#     `regie serve --demo --store redis://127.0.0.1:PORT/0` on a fresh
#     --data-dir (binary built here with `go build ./cmd/regie`);
#  2. runs `regie loadgen --duration 2s --concurrency 1 --vouchers 1` while
#     `redis-cli MONITOR` records every command, and picks one settlement out
#     of it: the EVALSHA of store/kv/rediskv/commit.lua that writes a claim
#     ({regie}:h:claims) and its journal entry ({regie}:h:journal\x1f<region>);
#  3. replays that EVALSHA with redis-benchmark (-c 64 -n 200000, once
#     without pipelining and once with -P 16, REPEAT times each, median):
#     the rate at which this Redis server executes settlements when nothing
#     else costs anything — the ceiling;
#  4. runs `regie loadgen --duration 20s` with --mode single and --mode bulk
#     (64 workers, loadgen's defaults) against regie on the same Redis and
#     reports claims/s and the ratio to the ceiling.
#
# How the captured settlement is made repeatable. commit.lua takes guards
# (`e|h hash field present expected`: a hash field the transaction read is
# still absent, or still has that value / SHA-1; `r zset hash from to size rev
# sha1`: a page of a walk still has the same keys and values) and then writes
# (`p zset hash field value`, ...). The helper reads these layouts from the
# header comment of commit.lua, so it follows changes of the format. Replayed
# as captured, the second run would fail its guards (the claim exists, the
# region's balance moved) and write nothing, so the script changes it:
#
#  - The claim id inside the fields of the claim (claims, claims_by_voucher
#    and the guard on the claim's absence) becomes <prefix>__rand_int__ of
#    the same length, and the journal entry's key becomes __rand_int__, so
#    that every run adds a new claim, a new index entry and a new journal
#    entry (HSET + ZADD each), as a real settlement does. (The claim's
#    period key stays the captured one: it is new only on the first run.)
#    redis-benchmark (-r 100000000) draws each __rand_int__ independently, so
#    the guard checks the absence of one random claim and the writes add
#    another: the same work. The JSON values still name the captured claim;
#    Redis does not look inside them.
#  - A process's argv cannot carry a NUL byte, and regie's fields have many
#    (key separators, big-endian sequence numbers). Every 0x00 in a field or
#    value is replaced by 0x01: same length, same work for Redis.
#  - GUARDS=all (default) keeps every guard and makes it pass:
#      * a guard on a field the script itself writes expects the value (or
#        its SHA-1) it writes; a first run primes it;
#      * a guard on a field only read (tariff, provider, choice, earlier claim
#        periods, bucket existence) expects its current value, copied over;
#      * a guard on a page of a walk gets the keys and values of that page
#        copied over and expects the page as it is after the priming run
#        (computed with commit.lua's own `page` function), except in a bucket
#        that grows on every run (claims, claims_by_voucher, the journal):
#        such a guard is dropped; the settlement captured has none, and the
#        script prints how many it dropped. (For the older format with bucket
#        versions, version guards are treated the same way.)
#    GUARDS=claim keeps only the guard on the claim's absence (the simple
#    variant: all writes, one guard).
#  - The replay runs in Redis database 1 (redis-benchmark --dbnum 1), emptied
#    and primed again before every run, so that regie's own data in database 0
#    stays correct for loadgen (its final checks verify every journal) and
#    every run starts from the same state. The copies of read fields come
#    from database 0.
#  - Before each run the script executes the final command twice and
#    requires "OK" (a failed guard answers "CONFLICT", which redis-benchmark
#    does not count as an error); after each run it counts the claims written.
#
# What the ceiling leaves out: per settlement regie also reads from Redis
# before it commits (the capture shows how many commands per settlement);
# the ceiling is only the commit script. Bulk claims are many claims in one
# commit script, so bulk is not bounded by the one-claim ceiling.
#
# The machine: redis-server, redis-benchmark, regie serve and loadgen all
# share its cores (2 on the project's machine); figures are for that.
#
# Environment: REQUESTS (200000), CLIENTS (64), PIPELINE (16), REPEAT (3),
# DURATION (20s, loadgen), CONCURRENCY (64, loadgen workers), BULK_RETRY (8:
# when the bulk phase fails — 64 workers each sending 1,000 lines can wait
# longer than loadgen's 30 s client timeout — it runs again with this many
# workers; 0 to skip), PERSISTENCE ("always everysec none"), GUARDS
# (all|claim), AOF_REWRITE (yes: Redis's default automatic AOF rewrites; no:
# --auto-aof-rewrite-percentage 0 — a run writes about 1 GB of AOF into a
# small data set, so rewrites are far more frequent than on a large production
# data set; each one forks and competes for the cores), KEEP=1 keeps the
# temporary directory (logs, captures).
# A loadgen phase that fails is reported (its rate marked "!"), not fatal.
set -euo pipefail

REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-64}
PIPELINE=${PIPELINE:-16}
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-20s}
CONCURRENCY=${CONCURRENCY:-64}
BULK_RETRY=${BULK_RETRY:-8}
PERSISTENCE=${PERSISTENCE:-always everysec none}
GUARDS=${GUARDS:-all}
AOF_REWRITE=${AOF_REWRITE:-yes}
KEEP=${KEEP:-}

cd "$(dirname "$0")/.."
[ -f go.mod ] && [ -f store/kv/rediskv/commit.lua ] || { echo "run from the regie repository" >&2; exit 1; }
for tool in go redis-server redis-cli redis-benchmark python3 curl; do
	command -v "$tool" >/dev/null || { echo "$tool is needed (redis: apt-get install -y redis-server)" >&2; exit 1; }
done
case "$GUARDS" in all|claim) ;; *) echo "GUARDS must be all or claim" >&2; exit 1 ;; esac
case "$AOF_REWRITE" in yes|no) ;; *) echo "AOF_REWRITE must be yes or no" >&2; exit 1 ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/redis-bench-ceiling.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$KEEP" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: SIGTERM, wait, and forget it.
stop() {
	local pid=$1 p keep=()
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rewrites() { # AOF rewrites so far of the server on port $1
	redis-cli -p "$1" INFO persistence | tr -d '\r' | awk -F: '$1 == "aof_rewrites" {print $2}'
}

median() { # numbers as arguments
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# The helper: MONITOR parsing, the rewrite of the captured command, priming
# and checking, with its own binary-safe RESP client.
cat >"$tmp/replay.py" <<'PY'
import hashlib, json, random, re, socket, sys

RAND = b"__rand_int__"
# Arguments of commit.lua operations that name keys (sent as indexes into KEYS).
KEYARGS = {"key", "hash", "zset", "ver", "buckets", "seqs"}

def layout(lua):
    """The operations of commit.lua, from its header comment:
    op → (is a guard, argument names)."""
    ops, section = {}, None
    for line in open(lua, encoding="latin-1"):
        if not line.startswith("--"):
            break
        s = line[2:].strip()
        if s.startswith("Guards:"):
            section = True; continue
        if s.startswith("Writes:"):
            section = False; continue
        m = re.match(r"^([a-z])  (\S+(?: \S+)*)", s)
        if section is not None and m:
            ops[m.group(1).encode()] = (section, m.group(2).split())
    if b"p" not in ops or not any(g for g, _ in ops.values()):
        sys.exit("cannot read the operations from the header comment of %s" % lua)
    return ops

def page_function(lua):
    """commit.lua's `page` (the walk guard's page digest), to compute expected values."""
    src = open(lua, encoding="latin-1").read()
    m = re.search(r"^local function page\(.*?^end$", src, re.S | re.M)
    return m.group(0) if m else None

def unrepr(s):
    """One quoted argument of MONITOR (sdscatrepr) back to bytes."""
    out, i = bytearray(), 0
    esc = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, "\\": 92, '"': 34}
    while i < len(s):
        c = s[i]
        if c == "\\":
            d = s[i + 1]
            if d == "x":
                out.append(int(s[i + 2:i + 4], 16)); i += 4; continue
            out.append(esc.get(d, ord(d))); i += 2; continue
        out += c.encode("latin-1"); i += 1
    return bytes(out)

ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')

def monitor_lines(path):
    with open(path, encoding="latin-1") as f:
        for line in f:
            m = re.match(r'^\d+\.\d+ \[(\d+) ([^\]]+)\] (.*)$', line.rstrip("\n"))
            if m:
                yield m.group(2), [unrepr(a) for a in ARG.findall(m.group(3))]

class Op:
    def __init__(self, ops, args):
        self.op, self.args = args[0], list(args[1:])
        self.guard, self.names = ops[self.op]
    def get(self, name):
        return self.args[self.names.index(name)] if name in self.names else None
    def set(self, name, v):
        self.args[self.names.index(name)] = v
    def flat(self):
        return [self.op] + self.args

def split(ops, cmd):
    """EVALSHA sha numkeys keys... ops... → keys, guards, writes."""
    n = int(cmd[2]); keys = cmd[3:3 + n]; argv = cmd[3 + n:]
    guards, writes, i = [], [], 0
    while i < len(argv):
        if argv[i] not in ops:
            raise ValueError("unknown operation %r" % argv[i])
        w = 1 + len(ops[argv[i]][1])
        o = Op(ops, argv[i:i + w]); i += w
        (guards if o.guard else writes).append(o)
    return keys, guards, writes

def extract(lua, monitor, sha, out):
    ops, sha = layout(lua), sha.encode()
    found, at, n = [], [], 0  # at: positions of the settlements among the client commands
    for who, a in monitor_lines(monitor):
        if who == "lua" or not a:
            continue
        n += 1
        if a[0].lower() != b"evalsha" or a[1] != sha:
            continue
        keys, guards, writes = split(ops, a)
        tag = keys[0][:keys[0].index(b"}") + 1]
        claims = tag + b":h:claims"
        key = lambda i: keys[int(i) - 1]
        if claims in keys and any(k.startswith(tag + b":h:journal\x1f") for k in keys) \
                and any(w.op == b"p" and key(w.get("hash")) == claims for w in writes):
            at.append(n)
            if all(w.op in (b"p", b"s") for w in writes):
                found.append(a)
    if not found:
        sys.exit("no settlement EVALSHA %s in %s (is commit.lua the one regie was built with?)" % (sha.decode(), monitor))
    cmd = found[len(found) // 2]  # one from the middle: a steady-state settlement
    with open(out, "w") as f:
        json.dump([x.decode("latin-1") for x in cmd], f)
    keys, guards, writes = split(ops, cmd)
    per = (at[-1] - at[0]) / max(len(at) - 1, 1)
    print("  captured %d settlements; %.1f client commands per settlement (its reads and commit.lua); "
          "the one replayed: %d keys, %d guards (%s), %d writes, %d bytes"
          % (len(at), per, len(keys), len(guards), " ".join("%s×%d" % (o.decode(), sum(g.op == o for g in guards))
             for o in sorted({g.op for g in guards})), len(writes), sum(map(len, cmd))))

class Redis:
    def __init__(self, port, db):
        self.s = socket.create_connection(("127.0.0.1", int(port)))
        self.f = self.s.makefile("rb")
        self.do(b"SELECT", str(db).encode())
    def do(self, *args):
        buf = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            buf += [b"$%d\r\n" % len(a), a, b"\r\n"]
        self.s.sendall(b"".join(buf))
        return self.read()
    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t == b"+": return rest
        if t == b"-": raise RuntimeError(rest.decode())
        if t == b":": return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0: return None
            return self.f.read(n + 2)[:-2]
        if t == b"*":
            return [self.read() for _ in range(int(rest))]
        raise RuntimeError("bad reply %r" % line)

def substitute(args):
    return [re.sub(re.escape(RAND), lambda m: b"%012d" % random.randrange(100000000), a) for a in args]

def sha1(v):
    return hashlib.sha1(v).hexdigest().encode()

def prepare(lua, orig, port, guards_mode, out, counter):
    """Rewrite the captured command, prime database 1 and check the result."""
    ops, pagefn = layout(lua), page_function(lua)
    with open(orig) as f:
        cmd = [x.encode("latin-1") for x in json.load(f)]
    keys, guards, writes = split(ops, cmd)
    tag = keys[0][:keys[0].index(b"}") + 1]
    claims_h, journal_h, ver_key = tag + b":h:claims", tag + b":h:journal\x1f", tag + b":v"
    key = lambda i: keys[int(i) - 1]
    claim_field = next(w.get("k") for w in writes if w.op == b"p" and key(w.get("hash")) == claims_h)
    claim_id = claim_field.split(b"\0", 1)[1]
    rid = claim_id[:-len(RAND)] + RAND if len(claim_id) > len(RAND) else RAND
    assert not any(b"\0" in k for k in keys), "a key name with a NUL byte"
    def field(f):
        return f.replace(claim_id, rid).replace(b"\0", b"\x01")
    written, growing, wpaths, whashes = {}, set(), set(), set()
    for w in writes:
        for name in ("k", "path", "field"):
            if w.get(name) is not None:
                w.set(name, field(w.get(name)))
        if w.get("v") is not None:
            w.set("v", w.get("v").replace(b"\0", b"\x01"))
        if w.op == b"p":
            h = key(w.get("hash"))
            if h.startswith(journal_h):
                w.set("k", RAND)  # a new journal entry on every run
            if RAND in w.get("k"):
                growing.add(h)
                if w.get("path") is not None:
                    growing.add(w.get("path"))
            else:
                written[(h, w.get("k"))] = w.get("v")
                whashes.add(h)
                if w.get("path") is not None:
                    wpaths.add(w.get("path"))
        elif w.op == b"s":
            written[(key(w.get("seqs")), w.get("path"))] = w.get("n")
    db0, db1 = Redis(port, 0), Redis(port, 1)
    db1.do(b"FLUSHDB", b"SYNC")
    final, later, dropped = [], [], 0
    kinds = {"claim": 0, "written": 0, "read": 0, "after priming": 0}
    for g in guards:
        names = g.names
        if "from" in names and "to" in names:  # a walk's page
            h, z = key(g.get("hash")), key(g.get("zset"))
            if guards_mode == "claim" or h in growing or pagefn is None:
                dropped += 1; continue
            rev = g.get("rev") == b"rev"
            ks = db0.do(b"ZRANGE", z, g.get("from"), g.get("to"), b"BYLEX", *([b"REV"] if rev else []), b"LIMIT", b"0", g.get("size"))
            if ks:
                vs = db0.do(b"HMGET", h, *ks)
                for k, v in zip(ks, vs):
                    db1.do(b"ZADD", z, b"0", field(k))
                    if v is not None:
                        db1.do(b"HSET", h, field(k), v)
            g.set("from", field(g.get("from"))); g.set("to", field(g.get("to")))
            final.append(g); later.append(g); kinds["after priming"] += 1
            continue
        # a hash field: op hash field present expected
        hk, f = key(g.args[0]), g.args[1]
        nf = field(f)
        g.args[1] = nf
        if claim_id in f:
            g.args[2:4] = [b"0", b""]; final.append(g); kinds["claim"] += 1
        elif guards_mode == "claim":
            dropped += 1
        elif (hk, nf) in written:
            v = written[(hk, nf)]
            g.args[2:4] = [b"1", v if g.op == b"e" else sha1(v)]; final.append(g); kinds["written"] += 1
        elif hk == ver_key and nf in growing:  # the version of a bucket that grows on every run
            dropped += 1
        elif hk == ver_key and nf in wpaths:
            final.append(g); later.append(g); kinds["after priming"] += 1
        else:
            v = db0.do(b"HGET", hk, f)
            if v is None:
                g.args[2:4] = [b"0", b""]
            else:
                if g.op == b"e" and b"\0" in v:
                    sys.exit("an e guard on a value with a NUL byte; use GUARDS=claim")
                db1.do(b"HSET", hk, nf, v)
                g.args[2:4] = [b"1", v if g.op == b"e" else sha1(v)]
            final.append(g); kinds["read"] += 1
    head = [b"EVALSHA", cmd[1], cmd[2]] + keys
    flat = lambda os_: [x for o in os_ for x in o.flat()]
    r = db1.do(*substitute(head + flat(writes)))  # the priming run: writes only
    if r != b"OK":
        sys.exit("priming run answered %r" % r)
    for g in later:
        if "from" in g.names:
            body = pagefn + "\nreturn page(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4])"
            g.set("sha1", db1.do(b"EVAL", body.encode("latin-1"), b"2", key(g.get("zset")), key(g.get("hash")),
                                 g.get("from"), g.get("to"), g.get("size"), g.get("rev")))
        else:
            v = db1.do(b"HGET", key(g.args[0]), g.args[1])
            g.args[2:4] = [b"0", b""] if v is None else [b"1", v]
    args = head + flat(final) + flat(writes)
    for _ in range(2):
        r = db1.do(*substitute(args))
        if r != b"OK":
            sys.exit("the rewritten command answered %r, not OK" % r)
    assert not any(b"\0" in a for a in args)
    with open(out, "wb") as f:
        f.write(b"".join(a + b"\0" for a in args))
    with open(counter, "w") as f:
        f.write("%s\n" % db1.do(b"HLEN", claims_h))
    return kinds, dropped

def main():
    cmd = sys.argv[1]
    if cmd == "extract":  # commit.lua monitor.txt sha out.json
        extract(*sys.argv[2:6])
    elif cmd == "prepare":  # commit.lua captured.json port guards args.bin count [-v]
        kinds, dropped = prepare(*sys.argv[2:8])
        if sys.argv[8:] == ["-v"]:
            print("  guards kept: " + ", ".join("%d %s" % (n, k) for k, n in kinds.items() if n) +
                  "; %d dropped; the rewritten command answers OK" % dropped)
    elif cmd == "count":  # claims in database 1
        print(Redis(sys.argv[2], 1).do(b"HLEN", sys.argv[3].encode() + b":h:claims"))
    elif cmd == "rps":  # requests/s of redis-benchmark --csv output on stdin
        m = re.search(r'"([0-9.]+)"(?:,"[0-9.]+"){6}\s*$', sys.stdin.read())
        if not m:
            sys.exit("no requests/s in the redis-benchmark output")
        print(m.group(1))
main()
PY

echo "== redis-bench-ceiling $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "         redis-server, redis-benchmark, regie serve and loadgen share these cores: the figures are for that."
echo "$(redis-server --version | cut -d' ' -f1-3), $(go version | cut -d' ' -f3), GUARDS=$GUARDS AOF_REWRITE=$AOF_REWRITE"

# The binary and the script it embeds, taken together.
cp store/kv/rediskv/commit.lua "$tmp/commit.lua"
go build -o "$tmp/regie" ./cmd/regie
cmp -s store/kv/rediskv/commit.lua "$tmp/commit.lua" || { echo "commit.lua changed during the build; run again" >&2; exit 1; }
sha=$(sha1sum "$tmp/commit.lua" | cut -d' ' -f1)
echo "commit.lua sha1 $sha"

# loadgen PHASE WORKERS SEED: one `regie loadgen` phase against $url; sets
# rate (claims/s) and ok (yes|no). A failed phase is reported, not fatal.
loadgen() {
	local phase=$1 workers=$2 seed=$3 out="$dir/loadgen-$1-$2.txt" res lat rw
	ok=yes
	rw=$(rewrites "$rport")
	"$tmp/regie" loadgen --url "$url" --data-dir "$dir/data" --duration "$DURATION" --mode "$phase" \
		--concurrency "$workers" --seed "$seed" >"$out" 2>"$dir/loadgen-$phase-$workers.err" || ok=no
	rate=$(awk '/^  claim lines/ {sub("/s", "", $4); print $4}' "$out")
	rate=${rate:-0}
	res=$(grep '^result:' "$out" || tail -1 "$dir/loadgen-$phase-$workers.err")
	lat=$(grep '^  latency' "$out" | sed 's/^  latency *//; s/ *(per request.*//' || true)
	printf '  regie loadgen --mode %-6s --concurrency %-2s --duration %s: %10s claims/s  (%s; %s; AOF rewrites: %s)\n' \
		"$phase" "$workers" "$DURATION" "$rate" "$res" "$lat" "$(($(rewrites "$rport") - rw))"
	if [ "$ok" = no ]; then
		grep -A3 '^  first failures' "$out" | sed 's/^/  /' || true
		grep '^  FAIL' "$out" | head -3 | cut -c1-200 | sed 's/^/  /' || true
		rate="$rate!"
	fi
}

declare -A ceil1 ceilP single bulk
for mode in $PERSISTENCE; do
	dir="$tmp/$mode"
	mkdir -p "$dir/redis" "$dir/data"
	case $mode in
	always) persist=(--appendonly yes --appendfsync always) ;;
	everysec) persist=(--appendonly yes --appendfsync everysec) ;;
	none) persist=(--appendonly no) ;;
	*) echo "unknown persistence $mode (always, everysec or none)" >&2; exit 1 ;;
	esac
	[ "$AOF_REWRITE" = yes ] || persist+=(--auto-aof-rewrite-percentage 0)
	echo
	echo "== persistence: $mode (redis-server ${persist[*]} --save '')"
	rport=$(free_port)
	redis-server --bind 127.0.0.1 --port "$rport" --dir "$dir/redis" --daemonize no --protected-mode no \
		--save '' --logfile "$dir/redis/redis.log" "${persist[@]}" &
	rpid=$!
	pids+=("$rpid")
	for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
	redis-cli -p "$rport" ping >/dev/null || { tail "$dir/redis/redis.log"; echo "redis-server did not start" >&2; exit 1; }
	loaded=$(redis-cli -p "$rport" -x SCRIPT LOAD <"$tmp/commit.lua")
	[ "$loaded" = "$sha" ] || { echo "SCRIPT LOAD answered $loaded, want $sha" >&2; exit 1; }

	hport=$(free_port)
	url="http://127.0.0.1:$hport"
	"$tmp/regie" serve --demo --store "redis://127.0.0.1:$rport/0" --addr "127.0.0.1:$hport" \
		--data-dir "$dir/data" --log-level warn >"$dir/serve.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	for _ in $(seq 600); do
		curl -fsS "$url/readyz" >/dev/null 2>&1 && break
		kill -0 "$spid" 2>/dev/null || { cat "$dir/serve.log"; echo "regie serve exited" >&2; exit 1; }
		sleep 0.1
	done
	curl -fsS "$url/readyz" >/dev/null || { cat "$dir/serve.log"; echo "regie serve not ready" >&2; exit 1; }

	# Capture one real settlement.
	redis-cli -p "$rport" MONITOR >"$dir/monitor.txt" &
	mpid=$!
	pids+=("$mpid")
	sleep 0.3
	"$tmp/regie" loadgen --url "$url" --data-dir "$dir/data" --duration 2s --concurrency 1 --vouchers 1 --seed 1 \
		>"$dir/capture-loadgen.txt" 2>&1 || { cat "$dir/capture-loadgen.txt"; exit 1; }
	sleep 0.3
	stop "$mpid"
	python3 "$tmp/replay.py" extract "$tmp/commit.lua" "$dir/monitor.txt" "$sha" "$dir/captured.json"
	rm -f "$dir/monitor.txt"

	# The ceiling: redis-benchmark executing the settlement.
	for p in 1 "$PIPELINE"; do
		rates=()
		for run in $(seq "$REPEAT"); do
			verbose=; [ "$run" = 1 ] && [ "$p" = 1 ] && verbose=-v
			python3 "$tmp/replay.py" prepare "$tmp/commit.lua" "$dir/captured.json" "$rport" "$GUARDS" "$dir/args.bin" "$dir/count" $verbose
			mapfile -d '' -t args <"$dir/args.bin"
			before=$(cat "$dir/count")
			rw=$(rewrites "$rport")
			out=$(redis-benchmark -h 127.0.0.1 -p "$rport" --dbnum 1 -c "$CLIENTS" -n "$REQUESTS" -r 100000000 -P "$p" --csv "${args[@]}")
			rps=$(python3 "$tmp/replay.py" rps <<<"$out")
			after=$(python3 "$tmp/replay.py" count "$rport" '{regie}')
			rates+=("$rps")
			printf '  redis-benchmark -c %s -n %s -P %-2s run %s: %10s settle scripts/s  (new claims: %s; AOF rewrites: %s)\n' \
				"$CLIENTS" "$REQUESTS" "$p" "$run" "$rps" "$((after - before))" "$(($(rewrites "$rport") - rw))"
		done
		if [ "$p" = 1 ]; then ceil1[$mode]=$(median "${rates[@]}"); else ceilP[$mode]=$(median "${rates[@]}"); fi
	done
	redis-cli -p "$rport" -n 1 FLUSHDB SYNC >/dev/null

	# regie on the same server.
	seed=2
	for phase in single bulk; do
		loadgen "$phase" "$CONCURRENCY" "$seed"
		seed=$((seed + 1))
		if [ "$phase" = single ]; then single[$mode]=$rate; else bulk[$mode]=$rate; fi
		if [ "$phase" = bulk ] && [ "$ok" = no ] && [ "$BULK_RETRY" -gt 0 ]; then
			echo "  (bulk failed at $CONCURRENCY workers; again with $BULK_RETRY workers)"
			loadgen bulk "$BULK_RETRY" "$seed"
			seed=$((seed + 1))
			bulk[$mode]="$rate (${BULK_RETRY}w)"
		fi
	done
	echo "  redis: $(redis-cli -p "$rport" INFO memory | tr -d '\r' | grep -E '^used_memory_human:')"
	stop "$spid"
	stop "$rpid"
done

echo
echo "== summary (median of $REPEAT redis-benchmark runs; -c $CLIENTS -n $REQUESTS; loadgen $DURATION, $CONCURRENCY workers)"
printf '%-10s %16s %16s %16s %16s %14s %14s\n' persistence "ceiling P1 /s" "ceiling P$PIPELINE /s" "regie single/s" "regie bulk/s" "single/ceil" "bulk/ceil"
for mode in $PERSISTENCE; do
	printf '%-10s %16s %16s %16s %16s %13s%% %13s%%\n' "$mode" "${ceil1[$mode]}" "${ceilP[$mode]}" "${single[$mode]}" "${bulk[$mode]}" \
		"$(awk -v a="${single[$mode]}" -v b="${ceil1[$mode]}" 'BEGIN {printf "%.1f", 100*a/b}')" \
		"$(awk -v a="${bulk[$mode]}" -v b="${ceil1[$mode]}" 'BEGIN {printf "%.1f", 100*a/b}')"
done
echo "ceiling = settle commit scripts/s of one Redis server (the commit only; regie also reads before it commits)."
echo "new claims < requests: the random claim ids of some runs repeat (-r 100000000), so they wrote no new claim."
echo "bulk puts many claims in one commit script, so it is not bounded by the one-claim ceiling."
echo "$(nproc) cores shared by redis-server, redis-benchmark/loadgen and regie serve; load average now $(cut -d' ' -f1-3 /proc/loadavg)."
