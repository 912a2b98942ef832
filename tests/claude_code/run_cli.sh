#!/usr/bin/env bash
# usage: run_cli.sh NAME PORT SCRIPT [claude args...]   (server started/stopped around the run)
set -u
NAME=$1; PORT=$2; SCRIPT=$3; shift 3
OUT=${RUNS:-/tmp/cc-runs}/$NAME; SELF=$(cd "$(dirname "$0")" && pwd); rm -rf $OUT; mkdir -p $OUT
python3 "$SELF/capture_server.py" --port $PORT --log $OUT/requests.jsonl --script $SCRIPT ${MODELS:+--models $MODELS} 2>$OUT/server.err &
SPID=$!
sleep 0.7
H=$(mktemp -d /tmp/cchome.XXXX); mkdir -p $H/project
# the little project the prompts talk about (written here: a .py file in tests/ would be linted)
printf 'def total(items):\n    x = 0\n    for item in items:\n        x += item\n    return x\n' > $H/project/utils.py
cd $H/project
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=$H TERM=dumb \
  ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT ANTHROPIC_API_KEY=sk-ant-test-0000 \
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
  DISABLE_ERROR_REPORTING=1 DISABLE_BUG_COMMAND=1 IS_SANDBOX=1 ${EXTRA_ENV:-} \
  timeout ${TMO:-90} ${CLAUDE_BIN:-claude} "$@" >$OUT/stdout 2>$OUT/stderr </dev/null
echo "rc=$?" > $OUT/rc
echo "$H" > $OUT/home
kill $SPID
cat $OUT/rc; echo "--- stdout"; head -c 2000 $OUT/stdout; echo "--- stderr"; head -c 2000 $OUT/stderr
echo "--- requests"; python3 -c "
import json,sys
for l in open('$OUT/requests.jsonl'):
    e=json.loads(l); b=e.get('body') or {}
    print(e['seq'],e['method'],e['path'],e['query'],e['status'],'model=',b.get('model') if isinstance(b,dict) else '','max_tokens=',b.get('max_tokens') if isinstance(b,dict) else '','stream=',b.get('stream') if isinstance(b,dict) else '','tools=',len(b.get('tools') or []) if isinstance(b,dict) else '')
" 2>&1
