#!/usr/bin/env bash
# npm run test:bindings: build the Python, Java and Go packages with jsii-pacmak, install each with aws-cdk-lib and
# constructs from its own registry (the floor run's versions), and run the smoke app of each language
# (test/bindings/<language>/), which synthesizes the app of test/bindings/typescript/app.ts and checks it against
# test/bindings/expected.json. One line per language; the first failure stops the run with the app's output.
#
# Caches (what makes a second run fast): pip's cache and the virtual environment test/bindings/python/.venv,
# Maven's ~/.m2/repository (jsii-pacmak builds and installs the library's jar there), Go's module and build caches.
# Everything written in the repository is gitignored: dist/bindings/, test/bindings/python/.venv, test/bindings/java/target.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BINDINGS=$ROOT/test/bindings
CDK_VERSION=2.258.0
CONSTRUCTS_VERSION=10.5.1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=true
# Maven's local repository (set BINDINGS_MAVEN_REPO to measure a run with an empty one).
M2=${BINDINGS_MAVEN_REPO:-$HOME/.m2/repository}

step() { # step <name> <log> <command...>: run quietly; on failure print the log and exit
  local name=$1 log=$2
  shift 2
  if ! "$@" > "$log" 2>&1; then
    cat "$log" >&2
    echo "$name: failed (log above: $log)" >&2
    exit 1
  fi
}

result() { # result <language>: the app's result line (its stdout), with the time the language took
  local line
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$LOGS/$1.out" | grep -o "$1: [0-9]* checks passed.*") ||
    { cat "$LOGS/$1.log" >&2; echo "$1: no result line in $LOGS/$1.out" >&2; exit 1; }
  echo "$line ($((SECONDS - start)) s)"
}

LOGS=$ROOT/dist/bindings/logs
rm -rf dist/bindings/python dist/bindings/java dist/bindings/go "$LOGS"
mkdir -p "$LOGS"

# Python and Java packages, built as the release workflow builds them (wheel, Maven repository); the Go module as
# source (code only): its go build is the smoke app's, against the module proxy's aws-cdk-go.
start=$SECONDS
step "jsii-pacmak" "$LOGS/pacmak.log" npx jsii-pacmak --force --no-npmignore --rosetta-unknown-snippets fail \
  --target python --target java --maven-local-repository "$M2" --outdir dist/bindings
step "jsii-pacmak go" "$LOGS/pacmak-go.log" npx jsii-pacmak --code-only --force --no-npmignore \
  --rosetta-unknown-snippets fail --target go --outdir dist/bindings
echo "jsii-pacmak: python, java and go packages in dist/bindings ($((SECONDS - start)) s)"

# The definition files, under the names the README's snippets use, in the apps' working directory.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp test/definitions/order-pipeline.asl.json "$WORK/parent.asl.json"
cp "$BINDINGS"/*.asl.json "$WORK/"

start=$SECONDS
VENV=$BINDINGS/python/.venv
[ -x "$VENV/bin/python" ] || step "python venv" "$LOGS/python.log" python3 -m venv "$VENV"
step "python install" "$LOGS/python.log" "$VENV/bin/pip" install --quiet --disable-pip-version-check \
  "aws-cdk-lib==$CDK_VERSION" "constructs==$CONSTRUCTS_VERSION"
step "python install" "$LOGS/python.log" "$VENV/bin/pip" install --quiet --disable-pip-version-check \
  --force-reinstall --no-deps dist/bindings/python/*.whl
step "python" "$LOGS/python.log" bash -c "cd '$WORK' && '$VENV/bin/python' '$BINDINGS/python/app.py' > '$LOGS/python.out'"
result python

start=$SECONDS
step "java" "$LOGS/java.log" bash -c "cd '$WORK' && mvn --batch-mode --quiet -Dstyle.color=never -f '$BINDINGS/java/pom.xml' -Dmaven.repo.local='$M2' \
  -Daws-cdk-lib.version=$CDK_VERSION -Dconstructs.version=$CONSTRUCTS_VERSION -Dsmoke.bindings='$BINDINGS' \
  compile exec:java > '$LOGS/java.out'"
result java

start=$SECONDS
step "go build" "$LOGS/go.log" bash -c "cd '$BINDINGS/go' && go build -buildvcs=false -o '$ROOT/dist/bindings/smoke-go' ."
step "go" "$LOGS/go.log" bash -c "cd '$WORK' && SMOKE_BINDINGS='$BINDINGS' '$ROOT/dist/bindings/smoke-go' > '$LOGS/go.out'"
result go
