"""Schemathesis hooks for scripts/contract-test (loaded through SCHEMATHESIS_HOOKS).

The run's bearer token comes in with `-H Authorization: Bearer ...` (so that schemathesis knows
it is the auth and its `ignored_auth` check can take it away). Two operations would end that
token for the rest of the run, so they get a token of their own:

- POST /v1/auth/logout gives the caller's token back: each call logs in afresh (same person) and
  logs out that fresh token instead.

Everything goes to the --url of the run (127.0.0.1) only.
"""

import json
import os
import urllib.request

import schemathesis

BASE = os.environ["FIELDTRAIL_CONTRACT_URL"]
USERNAME = os.environ["FIELDTRAIL_CONTRACT_USER"]
PASSWORD = os.environ["FIELDTRAIL_CONTRACT_PASS"]
TOKEN = os.environ["FIELDTRAIL_CONTRACT_TOKEN"]


def _fresh_token() -> str:
    body = json.dumps({"username": USERNAME, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{BASE}/v1/auth/login", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.method.upper() != "POST" or case.operation.path != "/v1/auth/logout":
        return
    # The -H header of the run is merged in after this hook and loses to kwargs["headers"].
    generated = case.headers or {}
    if any(name.lower() == "authorization" for name in generated):
        return  # a made-up or deliberately bad token (negative data): leave it as generated
    headers = dict(kwargs.get("headers") or {})
    headers["Authorization"] = f"Bearer {_fresh_token()}"
    kwargs["headers"] = headers


# ---------------------------------------------------------------------------------------------
# Counting: requests sent and their statuses, written for scripts/contract-test's summary line.

import atexit
import collections
import threading

_lock = threading.Lock()
_statuses = collections.Counter()
_operations = set()


@schemathesis.hook
def after_call(context, case, response):
    with _lock:
        _statuses[response.status_code] += 1
        _operations.add(f"{case.operation.method.upper()} {case.operation.path}")


def _write_counts():
    target = os.environ.get("FIELDTRAIL_CONTRACT_COUNTS")
    if not target:
        return
    with _lock, open(target, "w") as out:
        json.dump(
            {"statuses": {str(k): v for k, v in _statuses.items()}, "operations": sorted(_operations)},
            out,
        )


atexit.register(_write_counts)


# ---------------------------------------------------------------------------------------------
# Accepted failures: behaviour that schemathesis flags but that is correct, each one explained in
# tests/contract/FINDINGS.md (section "Correct behaviour"), matched as narrowly as possible: by
# the check's code, the operation, the status and the problem's pointer and reason.


def _problem(response):
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _reasons(problem):
    return [
        (str(error.get("pointer")), str(error.get("reason")))
        for error in (problem or {}).get("errors") or []
        if isinstance(error, dict)
    ]


# 422 answers to schema-valid input that break a rule of stored state or of several fields
# together, which JSON Schema cannot say (FINDINGS.md C2): (operation, pointer, reason prefix).
_STATE_RULES = [
    # C2a: references to units, people, households and records that do not exist.
    (None, None, "unknown unit"),
    (None, None, "unknown person"),
    (None, None, "unknown household"),
    (None, None, "unknown record"),
    (None, None, "no attachment with this hash"),
    # C2b: an admin may not deactivate themselves.
    ("POST /v1/people/{id}/deactivate", "", "you cannot deactivate yourself"),
    # C2c: outside 08:00-20:00 county time a draw over cadres needs an emergency reason.
    ("POST /v1/spot-checks/draws", "/emergency_reason", "challenges are only opened from 08:00 to 20:00"),
    # C2d: the night window must be ordered.
    ("PUT /v1/units/{code}/policy", "/night_window/morning_until", "must be earlier in the day than evening_from"),
]


def _accepted(failure, case, response):
    code = getattr(failure, "code", "")
    label = f"{case.operation.method.upper()} {case.operation.path}"
    status = response.status_code
    # C1: Allow on /v1/records/batch and /v1/units/import lists GET, which GET /v1/records/{id}
    # and GET /v1/units/{code} serve (the literal segment is taken as an id or code).
    if code == "ST205" and case.operation.path in ("/v1/records/batch", "/v1/units/import"):
        allow = response.headers.get("allow") or response.headers.get("Allow") or ""
        if isinstance(allow, list):
            allow = ", ".join(allow)
        return allow.replace(" ", "") == "GET,POST" and "Undocumented methods advertised: GET" in failure.message
    if code == "ST202" and status == 422:
        reasons = _reasons(_problem(response))
        if not reasons:
            return False
        for pointer, reason in reasons:
            ok = False
            # C3: an integer written with a fraction (27.0) is refused as a wrong type.
            if "invalid type: floating point" in reason and ("expected i" in reason or "expected u" in reason):
                ok = True
            for operation, rule_pointer, prefix in _STATE_RULES:
                if (operation is None or operation == label) and (
                    rule_pointer is None or rule_pointer == pointer
                ) and reason.startswith(prefix):
                    ok = True
            if not ok:
                return False
        return True
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if response is None:
        return True
    return not _accepted(failure, case, response)
