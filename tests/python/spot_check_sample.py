#!/usr/bin/env python3
"""Independent reimplementation of a fieldtrail spot-check draw's sample (docs/spot-checks.md).

Written from the document alone, sharing no code with fieldtrail; standard library only.

Usage:
  spot_check_sample.py < draw.json     draw.json: {"seed": base64 of 32 bytes, "draw_id": UUID,
                                        "members": [...], "passed_over": [ids], "size": n}
                                        prints {"sample": [...], "population_sha256": hex}
  spot_check_sample.py --self-test     checks the document's worked example; prints "ok"

`passed_over` may list ids or the objects a draw shows (`{"id": ..., "reason": ...}`).
Exits 1 with a reason on bad input or a failed self-test.
"""
import base64
import hashlib
import json
import sys

TWO_64 = 1 << 64


def fail(reason):
    print(f"FAIL: {reason}", file=sys.stderr)
    sys.exit(1)


def uuid_bytes(text):
    """The 16 bytes of a UUID in RFC 4122 order: its hex digits as written, hyphens dropped."""
    digits = text.replace("-", "")
    if len(digits) != 32:
        fail(f"draw_id {text!r} is not a UUID")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        fail(f"draw_id {text!r} is not a UUID")


class Stream:
    """SHA-256(seed || draw_id || u64be(0)) || SHA-256(seed || draw_id || u64be(1)) || ..."""

    def __init__(self, seed, draw_id):
        self.prefix = seed + draw_id
        self.counter = 0
        self.block = b""

    def word(self):
        if not self.block:
            self.block = hashlib.sha256(self.prefix + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        word, self.block = self.block[:8], self.block[8:]
        return int.from_bytes(word, "big")

    def uniform(self, n):
        limit = n * (TWO_64 // n)
        while True:
            w = self.word()
            if w < limit:
                return w % n


def sample(seed, draw_id, members, passed_over, size):
    skipped = set(passed_over)
    pool = [m for m in members if m not in skipped]
    n = len(pool)
    k = min(size, n)
    stream = Stream(seed, draw_id)
    for i in range(k):
        j = i + stream.uniform(n - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def population_sha256(members):
    digest = hashlib.sha256()
    for member in members:
        digest.update(member.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def answer(request):
    seed = base64.b64decode(request["seed"], validate=True)
    if len(seed) != 32:
        fail(f"seed is {len(seed)} bytes, not 32")
    draw_id = uuid_bytes(request["draw_id"])
    members = request["members"]
    passed_over = [p["id"] if isinstance(p, dict) else p for p in request.get("passed_over", [])]
    size = request["size"]
    if not isinstance(size, int) or size < 0:
        fail(f"size {size!r} is not a whole number")
    return {
        "sample": sample(seed, draw_id, members, passed_over, size),
        "population_sha256": population_sha256(members),
    }


def self_test():
    seed = bytes(range(32))
    draw_id = "01932f4c-8e00-7a11-8000-000000000001"
    if uuid_bytes(draw_id).hex() != "01932f4c8e007a118000000000000001":
        fail("UUID bytes")
    stream = Stream(seed, uuid_bytes(draw_id))
    first = [stream.word() for _ in range(5)]
    expected_words = [
        0x7E2AD2B3365327CE,
        0x4FC138C2FFBDBD48,
        0xCA9362817F8115BB,
        0x53C034D624BA81D9,
        0x5CDE856BF826A92A,
    ]
    if first != expected_words:
        fail(f"stream words {[hex(w) for w in first]}")
    got = answer(
        {
            "seed": base64.b64encode(seed).decode(),
            "draw_id": draw_id,
            "members": list("abcdefghij"),
            "passed_over": [],
            "size": 3,
        }
    )
    want = {
        "sample": ["e", "h", "f"],
        "population_sha256": "5af306b9538f2bf03cef3ab056bdf784781be7495ad6b0aa753035e473ce245e",
    }
    if got != want:
        fail(f"worked example gave {got}, not {want}")
    # Passed-over members are left out of the draw but stay in the population hash.
    skipped = answer(
        {
            "seed": base64.b64encode(seed).decode(),
            "draw_id": draw_id,
            "members": list("abcdefghij"),
            "passed_over": [{"id": "e"}],
            "size": 20,
        }
    )
    if (
        sorted(skipped["sample"]) != list("abcdfghij")
        or skipped["population_sha256"] != want["population_sha256"]
    ):
        fail(f"passed_over example gave {skipped}")
    print("ok")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return
    if sys.argv[1:]:
        fail("usage: spot_check_sample.py [--self-test] < draw.json")
    print(json.dumps(answer(json.load(sys.stdin)), ensure_ascii=False))


if __name__ == "__main__":
    main()
