#!/usr/bin/env python3
"""Which other crates' types appear in a crate's public API, checked against an allow-list.

Reads the rustdoc JSON of a crate (made by `cargo rustdoc -- --output-format json`, see
`scripts/external_types.sh`) and lists every item path from another crate that a public item
names: in a signature, a public field, a variant, a trait bound, an implemented trait. `std`,
`core` and `alloc` are always allowed. Exits 1 naming each path whose crate is not allowed.

    python3 scripts/external_types.py target/doc/oauth2_api.json oauth2-api/external-types.txt
"""
import json
import sys

ALWAYS = {"std", "core", "alloc"}


def walk(node, found):
    """Collects the ids of every resolved path under `node`."""
    if isinstance(node, dict):
        for key in ("resolved_path", "path", "trait"):
            inner = node.get(key)
            if isinstance(inner, dict) and "id" in inner:
                found.add(inner["id"])
        for value in node.values():
            walk(value, found)
    elif isinstance(node, list):
        for value in node:
            walk(value, found)


def main(doc_json, allow_file):
    doc = json.load(open(doc_json))
    crates = {str(k): v["name"] for k, v in doc["external_crates"].items()}
    allowed = set(ALWAYS)
    for line in open(allow_file):
        line = line.split("#", 1)[0].strip()
        if line:
            allowed.add(line)
    ids = set()
    for item in doc["index"].values():
        if item.get("crate_id") != 0:
            continue
        inner = item.get("inner", {})
        impl = inner.get("impl")
        if impl is not None and (impl.get("is_synthetic") or impl.get("synthetic")
                                 or impl.get("blanket_impl")):
            continue  # auto traits and blanket impls: not written by us
        walk(inner, ids)
    used = {}
    for i in ids:
        entry = doc["paths"].get(str(i))
        if entry is None or entry["crate_id"] == 0:
            continue
        crate = crates.get(str(entry["crate_id"]), "?")
        used.setdefault(crate, set()).add("::".join(entry["path"]))
    bad = {c: p for c, p in used.items() if c not in allowed}
    for crate in sorted(used):
        mark = "" if crate in allowed else "   <- not on the allow-list"
        print(f"{crate}: {', '.join(sorted(used[crate]))}{mark}")
    unused = sorted(allowed - ALWAYS - set(used))
    if unused:
        print(f"(allowed but not used: {', '.join(unused)})")
    if bad:
        print(f"FAIL: {len(bad)} crate(s) in the public API are not on {allow_file}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
