#!/usr/bin/env python3
"""Decrypt a Coffer archive without Coffer.

Reads an encrypted archive (`<id>.tar.gz.enc`, or its manifest `<id>.manifest.json.enc`)
and writes the plain bytes - a .tar.gz that `tar -xzf` opens, or the manifest's JSON.
Every segment is authenticated: a wrong key, a changed, reordered, truncated or extended
file stops with an error and a non-zero exit (the output written so far must then be
discarded). The format is described in docs/archive-format.md.

The key comes from one of:
  --key-dir DIR        a Coffer key directory (data/keys): the key named in the header
  --key-file FILE      one key file (64 hex characters)
  --export FILE        a file written by `coffer key export`; the passphrase is read from
                       --passphrase-file, else $COFFER_KEY_PASSPHRASE, else the terminal

Needs Python 3.8+ and the `cryptography` package (44 or newer for --export).

    tools/coffer-decrypt.py --key-dir data/keys backups/2026/12/ID.tar.gz.enc -o backup.tar.gz
    tar -xzf backup.tar.gz
"""

import argparse
import getpass
import json
import os
import sys
import tempfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"\x89COFFER\n"
FORMAT_VERSION = 1
TAG_LEN = 16
NONCE_PREFIX_LEN = 7
SEGMENT_SIZE_MIN, SEGMENT_SIZE_MAX = 1024, 16 << 20
EXPORT_FORMAT = "coffer-keyring-export"
EXPORT_AAD = b"coffer-keyring-export v1"


class Failure(Exception):
    pass


def read_exact(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_header(stream):
    """Returns (header bytes, key id, segment size, nonce prefix)."""
    magic = read_exact(stream, len(MAGIC))
    if magic != MAGIC:
        raise Failure("not a Coffer encrypted archive (wrong magic bytes)")
    fixed = read_exact(stream, 2)
    if len(fixed) < 2:
        raise Failure("archive is truncated: its header is incomplete")
    version, id_len = fixed[0], fixed[1]
    if version != FORMAT_VERSION:
        raise Failure("unsupported encrypted archive version %d" % version)
    key_id = read_exact(stream, id_len)
    size = read_exact(stream, 4)
    prefix = read_exact(stream, NONCE_PREFIX_LEN)
    if len(key_id) < id_len or len(size) < 4 or len(prefix) < NONCE_PREFIX_LEN:
        raise Failure("archive is truncated: its header is incomplete")
    segment_size = int.from_bytes(size, "big")
    if not SEGMENT_SIZE_MIN <= segment_size <= SEGMENT_SIZE_MAX:
        raise Failure("unsupported segment size %d" % segment_size)
    header = MAGIC + fixed + key_id + size + prefix
    return header, key_id.decode("utf-8"), segment_size, prefix


def decrypt(stream, out, keys):
    """Decrypts `stream` into `out`; `keys(key_id)` returns the 32-byte key."""
    header, key_id, segment_size, prefix = read_header(stream)
    aead = AESGCM(keys(key_id))
    sealed_size = segment_size + TAG_LEN
    counter = 0
    segment = read_exact(stream, sealed_size)
    while True:
        # A segment is the last one when nothing follows it (STREAM's last-block flag).
        following = read_exact(stream, 1) if len(segment) == sealed_size else b""
        last = not following
        if len(segment) < TAG_LEN:
            raise Failure("archive is truncated (segment %d is incomplete)" % counter)
        nonce = prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")
        try:
            plain = aead.decrypt(nonce, segment, header)
        except InvalidTag:
            raise Failure(
                "segment %d does not authenticate: wrong key, or the archive was changed, "
                "truncated or extended" % counter
            )
        out.write(plain)
        if last:
            return
        counter += 1
        if counter >= 1 << 32:
            raise Failure("too many segments")
        segment = following + read_exact(stream, sealed_size - 1)


def parse_key_hex(text, where):
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise Failure("%s does not hold a key (64 hexadecimal characters)" % where)
    return key


def keys_from_dir(directory):
    def lookup(key_id):
        # The id comes from the archive, which is not trusted: it must not name a path.
        if not (1 <= len(key_id) <= 64) or key_id.startswith(".") or not all(
            c.isascii() and (c.isalnum() or c in "-_.") for c in key_id
        ):
            raise Failure("the archive's header holds an invalid key id")
        path = os.path.join(directory, key_id + ".key")
        try:
            with open(path) as f:
                return parse_key_hex(f.read(), path)
        except FileNotFoundError:
            raise Failure("the archive needs key %s, which is not in %s" % (key_id, directory))

    return lookup


def keys_from_file(path):
    with open(path) as f:
        key = parse_key_hex(f.read(), path)
    return lambda key_id: key


def read_passphrase(passphrase_file):
    if passphrase_file:
        with open(passphrase_file) as f:
            return f.readline().rstrip("\r\n")
    if os.environ.get("COFFER_KEY_PASSPHRASE"):
        return os.environ["COFFER_KEY_PASSPHRASE"]
    return getpass.getpass("Passphrase: ")


def keys_from_export(path, passphrase):
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    with open(path) as f:
        export = json.load(f)
    if export.get("format") != EXPORT_FORMAT or export.get("version") != 1:
        raise Failure("%s is not a Coffer keyring export of version 1" % path)
    kdf = export["kdf"]
    if kdf["algorithm"] != "argon2id" or export["cipher"]["algorithm"] != "AES-256-GCM":
        raise Failure("%s uses an algorithm this script does not know" % path)
    derived = Argon2id(
        salt=bytes.fromhex(kdf["salt"]),
        length=32,
        iterations=kdf["iterations"],
        lanes=kdf["parallelism"],
        memory_cost=kdf["memory_kib"],
    ).derive(passphrase.encode("utf-8"))
    try:
        plain = AESGCM(derived).decrypt(
            bytes.fromhex(export["cipher"]["nonce"]),
            bytes.fromhex(export["ciphertext"]),
            EXPORT_AAD,
        )
    except InvalidTag:
        raise Failure("wrong passphrase, or %s was changed" % path)
    sealed = json.loads(plain)
    keys = {k["id"]: parse_key_hex(k["key"], path) for k in sealed["keys"]}

    def lookup(key_id):
        if key_id not in keys:
            raise Failure("the archive needs key %s, which %s does not hold" % (key_id, path))
        return keys[key_id]

    return lookup


def main():
    parser = argparse.ArgumentParser(description="Decrypt a Coffer archive without Coffer.")
    parser.add_argument("archive", help="the encrypted archive (or manifest); - for stdin")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--key-dir", help="a Coffer key directory (data/keys)")
    source.add_argument("--key-file", help="one key file")
    source.add_argument("--export", help="a file written by `coffer key export`")
    parser.add_argument("--passphrase-file", help="with --export: the passphrase's file")
    parser.add_argument("-o", "--output", help="where to write the plain bytes (default stdout)")
    args = parser.parse_args()
    partial = None  # the temporary output this run created, removed unless it succeeds
    try:
        if args.key_dir:
            keys = keys_from_dir(args.key_dir)
        elif args.key_file:
            keys = keys_from_file(args.key_file)
        else:
            keys = keys_from_export(args.export, read_passphrase(args.passphrase_file))
        stream = sys.stdin.buffer if args.archive == "-" else open(args.archive, "rb")
        if args.output:
            # Plain bytes go to a private (0600) file beside the output, renamed over it only
            # once every segment is authenticated: a failure never leaves half a plaintext
            # and never removes or truncates a file it did not write.
            folder = os.path.dirname(os.path.abspath(args.output))
            fd, partial = tempfile.mkstemp(prefix=".coffer-decrypt-", dir=folder)
            out = os.fdopen(fd, "wb")
        else:
            out = sys.stdout.buffer
        with stream, out:
            decrypt(stream, out, keys)
        if partial:
            os.replace(partial, args.output)
            partial = None
    except Exception as e:  # noqa: BLE001 - any failure is reported, never a traceback
        reason = e if isinstance(e, (Failure, OSError)) else "unreadable input (%s)" % e
        print("coffer-decrypt: %s" % reason, file=sys.stderr)
        return 1
    finally:
        if partial:
            try:
                os.remove(partial)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
