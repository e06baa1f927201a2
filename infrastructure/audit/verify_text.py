"""VERIFY.md, the by-hand verification guide shipped inside every evidence bundle."""

from __future__ import annotations

VERIFY_MD = """\
# Verifying this evidence bundle

Quick check, offline (no server, no database): `decnet evidence verify THIS.zip`
(add `--public-key KEY.pem` to insist on the key you obtained from the operator).

## What is inside

| member | content |
|---|---|
| `events.jsonl` | one event a line, by position; batches cut to the subject's records |
| `proofs.json` | each event's leaf index and audit path in the checkpoint's tree |
| `checkpoint.json` | `tree_size`, `root_hash`, `timestamp`, Ed25519 `signature` |
| `public_key.pem` | the signing key (Ed25519, SubjectPublicKeyInfo PEM) |
| `artifacts/<sha256>` | files the attacker dropped, named by their SHA-256 |
| `manifest.json`, `manifest.sig` | SHA-256 of every other member, signed by the same key |

## By hand

1. **Trust the key.** Compare it with the key the operator publishes
   (`GET /api/v1/audit/public-key`): `openssl pkey -pubin -in public_key.pem -noout -text`.
2. **Check the checkpoint signature.** The signed text is four lines, each ending in `\\n`:

       printf 'decnet-es checkpoint v1\\ntree_size %s\\nroot_hash %s\\ntimestamp %s\\n' \\
         SIZE ROOT_HASH TIMESTAMP > checkpoint.msg
       echo SIGNATURE | base64 -d > checkpoint.sig
       openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin \\
         -in checkpoint.msg -sigfile checkpoint.sig

3. **Check the archive's seal.** The zip's comment, its last 116 bytes, is
   `decnet-es-archive-signature ` and the base64 signature of a two-line text: a title and the
   SHA-256 of every byte of the `.zip` before those 116 (headers and timestamps included):

       printf 'decnet-es evidence archive v1\n%s\n' \
         "$(head -c -116 BUNDLE.zip | sha256sum | cut -d' ' -f1)" > archive.msg
       tail -c 88 BUNDLE.zip | base64 -d > archive.sig
       openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin \
         -in archive.msg -sigfile archive.sig

4. **Check the manifest**, then every member's digest against it:

       printf 'decnet-es evidence manifest v1\\n' | cat - manifest.json > manifest.msg
       base64 -d manifest.sig > manifest.bin
       openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin \\
         -in manifest.msg -sigfile manifest.bin
       sha256sum events.jsonl proofs.json checkpoint.json public_key.pem VERIFY.md artifacts/*

5. **Check the artifacts**: each file's SHA-256 is its name, and a proven record names it
   (`fields.sha256` of a `file_captured` record).
6. **Recompute every event's leaf and fold it to the checkpoint root.** Hashing is RFC 6962:
   leaf = SHA-256(0x00 ‖ bytes), node = SHA-256(0x01 ‖ left ‖ right). An event's canonical
   bytes (integers are signed 64-bit big-endian):

       "decnet.event.v1\\n" ‖ position ‖ originator_id (16 bytes) ‖ originator_version
         ‖ len(topic) ‖ topic (UTF-8)
         ‖ 0x00 ‖ len(state) ‖ state                                  (any other event)
         ‖ 0x01 ‖ len(rest) ‖ rest ‖ records_count ‖ records_root      (interaction batch)

   `rest` is the RFC 8785 (JCS) JSON of the batch state without `records`; `records_root` is
   the RFC 6962 root over the batch's records, each leaf SHA-256(0x00 ‖ JCS(record)), obtained by
   folding any record with its proof. This script (Python 3 and `pip install rfc8785`) does
   step 6 and prints one line per event:

```python
import base64, hashlib, json, sys, uuid, zipfile
import rfc8785  # RFC 8785 JSON canonicalization

def H(data): return hashlib.sha256(data).digest()
def node(left, right): return H(b"\\x01" + left + right)
def i64(n): return n.to_bytes(8, "big", signed=True)

def fold(leaf, index, size, path):  # RFC 9162 section 2.1.3.2
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0: raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn: fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn: raise ValueError("proof too short")
    return r

bundle = zipfile.ZipFile(sys.argv[1])
checkpoint = json.loads(bundle.read("checkpoint.json"))
proofs = {p["position"]: p for p in json.loads(bundle.read("proofs.json"))["events"]}
for line in bundle.read("events.jsonl").decode().splitlines():
    e = json.loads(line)
    topic = e["topic"].encode()
    head = (b"decnet.event.v1\\n" + i64(e["position"]) + uuid.UUID(e["originator_id"]).bytes
            + i64(e["originator_version"]) + i64(len(topic)) + topic)
    if "batch" in e:
        b = e["batch"]
        roots = {fold(H(b"\\x00" + rfc8785.dumps(r["record"])), r["index"], b["records_count"],
                      [bytes.fromhex(h) for h in r["proof"]]) for r in b["records"]}
        if len(roots) != 1: raise ValueError("the records lead to different roots")
        rest = rfc8785.dumps(b["rest"])
        body = b"\\x01" + i64(len(rest)) + rest + i64(b["records_count"]) + roots.pop()
    else:
        state = e["state"].encode() if "state" in e else base64.b64decode(e["state_b64"])
        body = b"\\x00" + i64(len(state)) + state
    proof = proofs[e["position"]]
    root = fold(H(b"\\x00" + head + body), proof["leaf_index"], checkpoint["tree_size"],
                [bytes.fromhex(h) for h in proof["audit_path"]])
    print(e["position"], "OK" if root.hex() == checkpoint["root_hash"] else "MISMATCH")
```

The full description, and what this proves and what it does not, is in the product's
`docs/forensics.md`.
"""
