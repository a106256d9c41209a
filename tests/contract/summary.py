"""One summary line for a role's schemathesis run (scripts/contract-test)."""

import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

role, out, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
tested = failures = errors = 0
for path in glob.glob(os.path.join(out, "junit*.xml")):
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        # One test case per operation, and one for the stateful phase.
        if case.find("skipped") is None and not case.get("name", "").startswith("Stateful"):
            tested += 1
        failures += len(case.findall("failure"))
        errors += len(case.findall("error"))
requests = five_xx = 0
statuses = {}
try:
    with open(os.path.join(out, "counts.json")) as f:
        counts = json.load(f)
    statuses = {int(k): v for k, v in counts["statuses"].items()}
    requests = sum(statuses.values())
    five_xx = sum(v for k, v in statuses.items() if k >= 500)
except (OSError, ValueError, KeyError):
    pass
verdict = "ok" if rc == 0 else f"FAILED (schemathesis exit {rc})"
print(
    f"contract {role}: {tested} operations tested, {requests} requests sent ({five_xx} 5xx), "
    f"{failures} failures, {errors} errors: {verdict}"
)
