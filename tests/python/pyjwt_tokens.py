"""Bearer tokens from an independent JWT implementation (PyJWT + cryptography).

Reads a JSON request on stdin:

    {"key_file": "<data dir>/jwt-ed25519.pem", "claims": {...}, "variants": ["valid", ...]}

and prints a JSON object mapping each variant to a token:

- valid        the claims as given, EdDSA with the server's key
- expired      exp an hour ago (iat two hours ago)
- expired_leeway  exp 60 s ago, beyond the 5 s leeway
- nbf_future   nbf an hour ahead
- iat_future   iat an hour ahead
- other_key    EdDSA, signed by a freshly generated Ed25519 key
- alg_none     alg "none", no signature (RFC 7519 unsecured JWT)
- alg_none_sig alg "none" with the valid token's signature kept
- hs256_raw    HS256 keyed with the raw 32 public key bytes
- hs256_der    HS256 keyed with the public key as SubjectPublicKeyInfo DER
- hs256_pem    HS256 keyed with the public key as PEM text
               (PyJWT refuses asymmetric-looking HMAC secrets, so these two are computed by hand)

With "verify": "<token>" it instead checks that token with the key file's public key (PyJWT,
EdDSA only) and prints {"claims": {...}}.
"""

import base64
import hashlib
import hmac
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_by_hand(claims: dict, secret: bytes) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def main() -> None:
    request = json.load(sys.stdin)
    with open(request["key_file"], "rb") as f:
        pem_bytes = f.read()
    try:
        private = serialization.load_pem_private_key(pem_bytes, password=None)
    except ValueError as err:
        # Not a key `cryptography` reads (e.g. PKCS#8 v2 with an embedded public key that it
        # refuses). The key-format test reports that; here the seed is taken out by hand so the
        # token checks still run: the private key is the OCTET STRING 04 20 <32 bytes> that
        # follows the Ed25519 OID (1.3.101.112, 06 03 2b 65 70).
        der = base64.b64decode(b"".join(
            line for line in pem_bytes.splitlines() if not line.startswith(b"-----")
        ))
        at = der.find(b"\x06\x03\x2b\x65\x70")
        inner = der.find(b"\x04\x20", at)
        if at < 0 or inner < 0:
            raise SystemExit(f"cannot read the key file: {err}")
        print(f"warning: cryptography refused the key file ({err}); seed read by hand",
              file=sys.stderr)
        private = Ed25519PrivateKey.from_private_bytes(der[inner + 2:inner + 34])
    if not isinstance(private, Ed25519PrivateKey):
        raise SystemExit(f"not an Ed25519 key: {type(private).__name__}")
    public: Ed25519PublicKey = private.public_key()

    if "verify" in request:
        claims = jwt.decode(
            request["verify"],
            key=public,
            algorithms=["EdDSA"],
            options={"verify_aud": False},
        )
        print(json.dumps({"claims": claims}))
        return

    base = dict(request["claims"])
    now = int(time.time())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def eddsa(claims: dict, key=private) -> str:
        return jwt.encode(claims, key, algorithm="EdDSA")

    out = {}
    for variant in request["variants"]:
        claims = dict(base)
        if variant == "valid":
            token = eddsa(claims)
        elif variant == "expired":
            claims.update(iat=now - 7200, exp=now - 3600)
            token = eddsa(claims)
        elif variant == "expired_leeway":
            claims.update(iat=now - 3600, exp=now - 60)
            token = eddsa(claims)
        elif variant == "nbf_future":
            claims.update(nbf=now + 3600)
            token = eddsa(claims)
        elif variant == "iat_future":
            claims.update(iat=now + 3600, exp=now + 7200)
            token = eddsa(claims)
        elif variant == "other_key":
            token = eddsa(claims, Ed25519PrivateKey.generate())
        elif variant == "alg_none":
            token = jwt.encode(claims, None, algorithm="none")
        elif variant == "alg_none_sig":
            signature = eddsa(claims).split(".")[2]
            unsigned = jwt.encode(claims, None, algorithm="none")
            token = unsigned.rstrip(".") + "." + signature
        elif variant == "hs256_raw":
            try:
                token = jwt.encode(claims, raw, algorithm="HS256")
            except jwt.exceptions.InvalidKeyError:
                token = hs256_by_hand(claims, raw)
        elif variant == "hs256_der":
            token = hs256_by_hand(claims, der)
        elif variant == "hs256_pem":
            token = hs256_by_hand(claims, pem)
        else:
            raise SystemExit(f"unknown variant {variant}")
        out[variant] = token
    print(json.dumps(out))


if __name__ == "__main__":
    main()
