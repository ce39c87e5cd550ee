"""Verify DKIM signatures with Python's dkim module (dkimpy), a second,
independent verifier for the mailer tests.

Usage: dkim_verify.py RECORDS.json MESSAGE.eml...
RECORDS.json maps DNS names (s1._domainkey.example.org) to TXT values.
Prints one line per message: "pass" or "fail".
"""
import json
import sys

import dkim


def main():
    with open(sys.argv[1]) as f:
        records = json.load(f)

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        v = records.get(name.rstrip("."))
        return v.encode() if v is not None else None

    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            msg = f.read()
        ok = dkim.verify(msg, dnsfunc=dnsfunc, minkey=1024)
        print("pass" if ok else "fail")


main()
