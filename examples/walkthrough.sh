#!/usr/bin/env bash
# The README walk-through of regie's core loop, against a running demo server:
#
#   examples/walkthrough.sh http://localhost:8080
#
# An assessor issues a voucher from an indication; the client finds a provider
# near Utrecht and chooses it; the provider accepts and claims a week of care;
# the funder sees the regional budget debited to the cent. Every answer is
# checked; the script exits non-zero on the first unexpected one.
# Needs curl and jq.
set -euo pipefail
BASE=${1:?usage: walkthrough.sh BASE_URL}
BSN=${DEMO_BSN:-999990019} # the demo client's fictitious BSN (it passes the 11-proof)
PRODUCT=WMO-BEG            # begeleiding individueel, per hour
UTRECHT_LAT=52.0907 UTRECHT_LON=5.1214

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# call METHOD PATH TOKEN [BODY] — sets $STATUS and $BODY (no subshell, so
# both survive).
out=$(mktemp)
trap 'rm -f "$out"' EXIT
call() {
	local method=$1 path=$2 token=$3 body=${4:-}
	local args=(-sS -o "$out" -w '%{http_code}' -X "$method" "$BASE$path")
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
	STATUS=$(curl "${args[@]}")
	BODY=$(cat "$out")
}
expect() { [ "$STATUS" = "$1" ] || fail "$2: HTTP $STATUS, want $1"; }

# cents "12.34" → 1234, exactly (no floating point).
cents() {
	local s=$1 sign=""
	[[ $s == -* ]] && { sign=-; s=${s#-}; }
	local whole=${s%%.*} frac=${s#*.}
	echo "$sign$((10#$whole * 100 + 10#$frac))"
}

login() { call POST /api/v1/demo/login "" "{\"role\":\"$1\"}"; expect 200 "login $1"; jq -r .token <<<"$BODY"; }

step "Log in as each role (demo login)"
ASSESSOR=$(login assessor); CLIENT=$(login client); PROVIDER=$(login provider); FUNDER=$(login funder)
call GET /api/v1/demo/users ""; expect 200 "demo users"
PROVIDER_AGB=$(jq -r '[.users[]|select(.role=="provider")][0].subject' <<<"$BODY")
echo "provider AGB $PROVIDER_AGB"

step "Funder: budget of region utrecht before"
call GET /api/v1/regions/utrecht/budget "$FUNDER"; expect 200 "budget"; before=$BODY
echo "$before" | jq -c .
settled0=$(cents "$(echo "$before" | jq -r .settled)")
budget=$(cents "$(echo "$before" | jq -r .budget)")

step "Assessor: record an indication (the BSN is pseudonymised and dropped)"
from=$(date -u -d '-60 days' +%F); to=$(date -u -d '+300 days' +%F)
call POST /api/v1/indications "$ASSESSOR" "{\"bsn\":\"$BSN\",\"law\":\"wmo\",\"region\":\"utrecht\",
  \"lines\":[{\"product\":\"$PRODUCT\",\"units_per_week\":\"4\"}],\"valid_from\":\"$from\",\"valid_to\":\"$to\"}"
expect 201 "indication"; voucher=$BODY
VOUCHER_ID=$(echo "$voucher" | jq -r .id); TOKEN=$(echo "$voucher" | jq -r .token)
echo "$voucher" | jq -c '{id, status, balance, lines}'
echo "$voucher" | grep -q "$BSN" && fail "the BSN appears in the answer"
max=$(cents "$(echo "$voucher" | jq -r .balance)")

step "Anyone: the voucher is a JWS signed with a key in the JWKS"
header=$(echo "$TOKEN" | cut -d. -f1 | tr '_-' '/+')
while (( ${#header} % 4 )); do header+='='; done
kid=$(echo "$header" | base64 -d | jq -r .kid)
call GET /.well-known/jwks.json ""; jq -e --arg kid "$kid" '.keys[]|select(.kid==$kid and .alg=="EdDSA")' <<<"$BODY" >/dev/null \
	|| fail "kid $kid not in the JWKS"
call POST /api/v1/vouchers/verify "$PROVIDER" "{\"token\":\"$TOKEN\"}"; expect 200 "verify"; verify=$BODY
echo "$verify" | jq -e '.signature_valid and .status=="active"' >/dev/null || fail "verify: $verify"

step "Client: my vouchers, then providers of $PRODUCT near Utrecht"
call GET /api/v1/vouchers "$CLIENT"
jq -e --arg id "$VOUCHER_ID" '.vouchers[]|select(.id==$id)' <<<"$BODY" >/dev/null || fail "voucher not in client's list"
call GET "/api/v1/vouchers/$VOUCHER_ID/providers?product=$PRODUCT&lat=$UTRECHT_LAT&lon=$UTRECHT_LON&radius_km=25" "$CLIENT"
expect 200 "search"; found=$BODY
echo "$found" | jq -r '.providers[:5][]|"  \(.distance_km) km  \(.provider.name) (\(.nearest_location.city)) €\(.tariff)/uur"'
tariff=$(echo "$found" | jq -r --arg agb "$PROVIDER_AGB" '.providers[]|select(.provider.agb==$agb)|.tariff')
[ -n "$tariff" ] || fail "the demo provider is not among the results"

step "Client: choose the demo provider"
call POST "/api/v1/vouchers/$VOUCHER_ID/choices" "$CLIENT" "{\"product\":\"$PRODUCT\",\"provider_agb\":\"$PROVIDER_AGB\",\"from\":\"$from\"}"
expect 201 "choose"; choice=$BODY; CHOICE_ID=$(echo "$choice" | jq -r .id); echo "$choice" | jq -c '{id,status,from}'

step "Provider: see the request and accept it"
call GET /api/v1/choices "$PROVIDER"
jq -e --arg id "$CHOICE_ID" '.choices[]|select(.id==$id and .status=="requested")' <<<"$BODY" >/dev/null || fail "choice not visible"
call POST "/api/v1/choices/$CHOICE_ID/accept" "$PROVIDER"; expect 200 "accept"

step "Provider: claim the first week, 4 hours at €$tariff"
week_end=$(date -u -d "$from +6 days" +%F)
claim_id="walk-$(date +%s)-$RANDOM"
claim="{\"claim_id\":\"$claim_id\",\"voucher_id\":\"$VOUCHER_ID\",\"product\":\"$PRODUCT\",\"from\":\"$from\",\"to\":\"$week_end\",\"units\":\"4\",\"unit_price\":\"$tariff\"}"
call POST /api/v1/claims "$PROVIDER" "$claim"; expect 201 "claim"; decision=$BODY
echo "$decision" | jq -c '{status,amount,journal_seq}'
[ "$(echo "$decision" | jq -r .status)" = accepted ] || fail "claim not accepted: $decision"
amount=$(cents "$(echo "$decision" | jq -r .amount)")
[ "$amount" -eq $(( 4 * $(cents "$tariff") )) ] || fail "amount $amount is not 4 × $tariff"

step "Provider: a retry returns the same decision and debits nothing"
call POST /api/v1/claims "$PROVIDER" "$claim"; expect 200 "retry"; again=$BODY
[ "$(echo "$again" | jq -c 'del(.decided_at)')" = "$(echo "$decision" | jq -c 'del(.decided_at)')" ] || fail "retry differs"

step "Provider: claiming the same week again under a new id is double billing"
call POST /api/v1/claims "$PROVIDER" "${claim/$claim_id/$claim_id-b}"; expect 201 "double"; dup=$BODY
[ "$(echo "$dup" | jq -r .reason)" = period_overlap ] || fail "double billing not rejected: $dup"

step "Funder: the regional budget is debited to the cent"
call GET /api/v1/regions/utrecht/budget "$FUNDER"; expect 200 "budget"; after=$BODY
echo "$after" | jq -c .
[ "$(cents "$(echo "$after" | jq -r .settled)")" -eq $((settled0 + amount)) ] || fail "settled did not grow by $amount"
[ "$(cents "$(echo "$after" | jq -r .remaining)")" -eq $((budget - settled0 - amount)) ] || fail "remaining wrong"

step "Client: the voucher balance went down by the same amount"
call GET "/api/v1/vouchers/$VOUCHER_ID" "$CLIENT"; expect 200 "voucher"; mine=$BODY
[ "$(cents "$(echo "$mine" | jq -r .balance)")" -eq $((max - amount)) ] || fail "balance wrong"

step "Roles are checked: a client cannot claim, nobody unauthenticated can read"
call POST /api/v1/claims "$CLIENT" "$claim"; expect 403 "client claim"
call GET /api/v1/regions/utrecht/budget ""; expect 401 "no token"

printf '\nwalkthrough passed: voucher %s, claim %s, %s cents settled\n' "$VOUCHER_ID" "$claim_id" "$amount"
