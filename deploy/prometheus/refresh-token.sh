#!/bin/sh
# Write a fresh Mercato admin access token to the file Prometheus reads for its service
# discovery (deploy/prometheus/prometheus.yml, `credentials_file`). Tokens live 15 minutes:
# run this every 10 (cron, a systemd timer, or `while sleep 600; do ...; done`).
#
#   MERCATO_URL            the gateway (default http://127.0.0.1:8000)
#   MERCATO_ADMIN_EMAIL    default admin@mercato.local
#   MERCATO_ADMIN_PASSWORD required
#
# The file is replaced atomically and readable by its owner only.
set -eu
out=${1:?usage: refresh-token.sh <token file>}
url=${MERCATO_URL:-http://127.0.0.1:8000}
export MERCATO_ADMIN_EMAIL="${MERCATO_ADMIN_EMAIL:-admin@mercato.local}"
: "${MERCATO_ADMIN_PASSWORD:?set MERCATO_ADMIN_PASSWORD}"
export MERCATO_ADMIN_PASSWORD
# the password goes through the environment and stdin, never on a command line
body=$(python3 -c 'import json, os; print(json.dumps({"email": os.environ["MERCATO_ADMIN_EMAIL"], "password": os.environ["MERCATO_ADMIN_PASSWORD"]}))')
token=$(printf '%s' "$body" \
        | curl -fsS -X POST "$url/api/v1/identity/token" -H 'content-type: application/json' \
               --data-binary @- \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
umask 077
tmp="$out.tmp.$$"
printf '%s' "$token" > "$tmp"
mv "$tmp" "$out"
