"""Prints change events of the file sink one per line, for `make demo`."""
import json
import sys

for line in sys.stdin:
    e = json.loads(line)
    if "op" not in e:
        t = e["tableChanges"][0]
        cols = ", ".join(c["name"] + " " + c["typeName"] for c in t["table"]["columns"])
        print(f"  schema  {t['id']} v{t['schemaVersion']}: {cols}")
        continue
    src = e["source"]
    before = json.dumps(e["before"])
    after = json.dumps(e["after"])
    print(f"  op={e['op']}  {src['db']}.{src['table']}  before={before}  after={after}")
