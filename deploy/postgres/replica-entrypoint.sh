#!/bin/bash
# The streaming standby: on first start, copy the primary (pg_basebackup -R writes standby.signal and
# primary_conninfo), then run as a hot standby (read-only queries: reports, BI, checks).
set -euo pipefail
export PGDATA=/var/lib/postgresql/data/pgdata
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  export PGPASSWORD="$REPLICATION_PASSWORD"
  until pg_isready -h "$PRIMARY_HOST" -U replicator; do sleep 1; done
  pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -X stream -R -P
  chmod 700 "$PGDATA"
fi
# hot_standby_feedback: a long report query on the standby is not cancelled by the primary's vacuum.
exec postgres -D "$PGDATA" -c hot_standby=on -c hot_standby_feedback=on
