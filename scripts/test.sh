#!/usr/bin/env bash
# The test command (npm test): prepares the machine, builds, type-checks and runs every test.
# Servers (initdb/pg_ctl, sshd) and our own commands refuse root, so when started as root the
# suite runs as the unprivileged user that scripts/setup.sh prepares (default: pitr).
# Arguments are passed to scripts/run-tests.mjs (test file filters, --unit, --e2e).
# PITR_PG_VERSIONS (default 14,15,16,17,18: the whole matrix, 11-25 minutes on 2 cores) picks the
# PostgreSQL majors of the end-to-end tests; npm run test:quick uses 15 and 18.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d node_modules ] || npm ci
# Server binaries for the majors under test (Debian's 15 is on the machine; others come from npm).
versions="${PITR_PG_VERSIONS:-14,15,16,17,18}"
bash scripts/install-pg-versions.sh ${versions//,/ }
npx tsc -b
npx tsc -p tsconfig.test.json
npx eslint packages/*/src
npm run --silent format:check
node scripts/gen-samples.mjs --check
node scripts/gen-docs.mjs --check
bash scripts/check-root-guard.sh
bash scripts/as-user.sh CI="${CI:-}" PITR_PG_VERSIONS="$versions" PITR_TEST_KEEP="${PITR_TEST_KEEP:-}" PITR_TEST_EVERY_MAJOR="${PITR_TEST_EVERY_MAJOR:-}" \
  PITR_TEST_CONCURRENCY="${PITR_TEST_CONCURRENCY:-}" -- node scripts/run-tests.mjs "$@"
