#!/usr/bin/env python3
"""Writes the vendored x509-limbo subset that `tests/limbo.rs` runs.

Usage: bench/limbo-subset.py CORPUS_DIR OUT_DIR
  CORPUS_DIR holds limbo.json.gz, harness-rustls.json.gz, openssl-cli-ref.jsonl.gz and LICENSE
  (the x509-limbo yardstick, see tests/data/x509-limbo/README.md);
  OUT_DIR is normally tests/data/x509-limbo.

The subset is every case whose id does not start with `bettertls::` (the hand-written groups,
few and each different) plus a deterministic stratified sample of the 9,572 generated
`bettertls::` cases. The strata are the pairs (rustls reference reason, OpenSSL reference error
kind), so every way the two stacks can answer a bettertls case appears at least MIN_PER_STRATUM
times (or as often as it exists), and the big strata are sampled in proportion to their size.
Within a stratum the cases are sorted by id and taken at evenly spaced positions: the same
corpus always yields the same subset, with no randomness to seed.

Each case is written verbatim (limbo's own fields) plus `reference`: what limbo's rustls-webpki
harness and `openssl verify` with mqtls's settings answered, so the test needs no other file.
Standard library only: this runs wherever Python 3 does.
"""

import gzip
import json
import os
import re
import shutil
import sys
from collections import defaultdict

# About this many bettertls cases in proportion to stratum size, on top of the per-stratum floor.
BUDGET = 240
# Every stratum contributes at least this many cases (or all it has).
MIN_PER_STRATUM = 3


def rustls_reason(ref):
    """The webpki error kind without its payload: `CertExpired { time: .. }` -> `CertExpired`."""
    if ref is None:
        return "no reference"
    if ref["actual_result"] == "SUCCESS":
        return "accepts"
    context = ref.get("context") or "?"
    m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*[({]", context)
    return m.group(1) if m else context


def openssl_kind(ref):
    """The verify error without its depth: `error 20 at 1 depth lookup: X` -> `20 X`."""
    if ref is None:
        return "no reference"
    if ref["ok"]:
        return "accepts"
    error = ref.get("error") or "?"
    m = re.match(r"^error (\d+) at \d+ depth lookup: (.*)$", error)
    return f"{m.group(1)} {m.group(2)}" if m else error


def evenly_spaced(items, take):
    """`take` items of the sorted list at evenly spaced positions (the middle of each slice)."""
    n = len(items)
    return [items[(2 * i + 1) * n // (2 * take)] for i in range(take)]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    corpus, out = sys.argv[1], sys.argv[2]
    with gzip.open(os.path.join(corpus, "limbo.json.gz"), "rt") as f:
        cases = json.load(f)["testcases"]
    with gzip.open(os.path.join(corpus, "harness-rustls.json.gz"), "rt") as f:
        rustls = {r["id"]: r for r in json.load(f)["results"]}
    with gzip.open(os.path.join(corpus, "openssl-cli-ref.jsonl.gz"), "rt") as f:
        openssl = {r["id"]: r for r in map(json.loads, f)}

    chosen = [c for c in cases if not c["id"].startswith("bettertls::")]
    strata = defaultdict(list)
    for c in cases:
        if c["id"].startswith("bettertls::"):
            key = (rustls_reason(rustls.get(c["id"])), openssl_kind(openssl.get(c["id"])))
            strata[key].append(c)
    total = sum(len(v) for v in strata.values())
    sampled = 0
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda c: c["id"])
        take = min(len(members), max(MIN_PER_STRATUM, round(len(members) * BUDGET / total)))
        chosen.extend(evenly_spaced(members, take))
        sampled += take

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "cases.json")
    with open(path, "w") as f:
        # One case per line: a regenerated subset diffs case by case.
        f.write('{"version":1,"cases":[\n')
        for i, c in enumerate(sorted(chosen, key=lambda c: c["id"])):
            r, o = rustls.get(c["id"]), openssl.get(c["id"])
            c = dict(c)
            c["reference"] = None
            if r is not None and o is not None:
                c["reference"] = {
                    "rustls": {"result": r["actual_result"], "context": r.get("context")},
                    "openssl": {"ok": o["ok"], "error": o.get("error")},
                }
            sep = ",\n" if i else ""
            f.write(sep + json.dumps(c, separators=(",", ":"), sort_keys=True))
        f.write("\n]}\n")
    shutil.copyfile(os.path.join(corpus, "LICENSE"), os.path.join(out, "LICENSE"))
    print(
        f"{path}: {len(chosen)} cases ({len(chosen) - sampled} non-bettertls, {sampled} of "
        f"{total} bettertls in {len(strata)} strata), {os.path.getsize(path)} bytes",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
