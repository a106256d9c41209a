#!/usr/bin/env python3
"""Independent check of a fieldtrail checkpoint: C2SP signed note + tlog-checkpoint, Ed25519.

Written from the specs (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), sharing no code with
fieldtrail. Usage: verify_checkpoint.py VERIFIER_KEY CHECKPOINT_FILE
Prints the origin, size and root on success; exits 1 with a reason otherwise.
"""
import base64
import hashlib
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(reason):
    print(f"FAIL: {reason}")
    sys.exit(1)


def main():
    vkey, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as handle:
        note = handle.read().decode("utf-8")

    # Verifier key: <name>+<hex key id>+<base64(alg byte || public key)>
    name, key_id_hex, key_b64 = vkey.strip().split("+", 2)
    key_bytes = base64.b64decode(key_b64)
    if key_bytes[0] != 0x01 or len(key_bytes) != 33:
        fail("not an Ed25519 verifier key")
    public = key_bytes[1:]
    expected_id = hashlib.sha256(name.encode() + b"\n" + b"\x01" + public).digest()[:4]
    if expected_id.hex() != key_id_hex:
        fail(f"key id {key_id_hex} is not SHA-256(name || LF || 0x01 || key)[:4] = {expected_id.hex()}")

    # Signed note: text, a blank line, then signature lines "— <name> <base64(id || sig)>".
    split = note.rfind("\n\n")
    if split < 0:
        fail("no blank line before the signatures")
    text, signatures = note[: split + 1], note[split + 2 :]
    verified = False
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            fail(f"signature line does not start with an em dash: {line!r}")
        signer, blob_b64 = line[2:].split(" ")
        blob = base64.b64decode(blob_b64)
        if signer != name or blob[:4] != expected_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text.encode("utf-8"))
            verified = True
        except InvalidSignature:
            fail("the Ed25519 signature does not verify")
    if not verified:
        fail(f"no signature by {name}")

    # tlog-checkpoint body: origin, decimal size, base64 root hash.
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    if origin != name:
        fail(f"origin {origin!r} differs from the key name {name!r}")
    if len(root) != 32:
        fail("root hash is not 32 bytes")
    key_id = struct.unpack(">I", expected_id)[0]
    print(f"OK origin={origin} size={size} root={root.hex()} key_id={key_id:08x}")


if __name__ == "__main__":
    main()
