#!/usr/bin/env python3
"""Prints the criterion results of benches/validation.rs as a markdown table of ratios to the
floor (aws-lc-rs verifying the same signature with a prepared key), from target/criterion."""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
groups = ["RS256-2048", "RS256-4096", "PS256", "ES256", "ES384", "ES512", "EdDSA", "HS256"]
columns = ["floor", "oauth2-api", "oauth2-api-claims-read", "oauth2-api-cache-hit",
           "oauth2-api-cache-hit-claims-read", "jsonwebtoken"]


def median_ns(group, bench):
    path = os.path.join(root, group, bench, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None


def fmt_time(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


print("| algorithm | floor (aws-lc-rs) | oauth2-api | ratio | + claims read | ratio | cache hit | ratio "
      "| hit + claims read | ratio | jsonwebtoken 12 | ratio |")
print("|---" * 12 + "|")
for g in groups:
    floor = median_ns(g, "floor")
    if floor is None:
        continue
    cells = [g, fmt_time(floor)]
    for c in columns[1:]:
        v = median_ns(g, c)
        cells += [fmt_time(v), f"{v / floor:.2f}x"] if v is not None else ["—", "—"]
    print("| " + " | ".join(cells) + " |")
load = median_ns("jwks-load", "4-keys")
if load is not None:
    print(f"\nJWK set loading (4 keys: 2 RSA-2048, P-256, Ed25519, parsed and prepared): {fmt_time(load)}")
