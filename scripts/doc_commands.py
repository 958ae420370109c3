#!/usr/bin/env python3
"""Runs the shell commands of the docs (README.md, docs/*.md, the crates' READMEs and guides)
as scripts/doc_commands.toml says, and fails on a command the table does not list.

    python3 scripts/doc_commands.py [path/to/oauth2-api-gateway]

Fenced `sh`/`bash`/`console` blocks count line by line (comments after `#` are not part of a
command); so do inline code spans that start with `cargo run`, `cargo build`, `cargo test` or
`oauth2-api-gateway `.
"""
import glob
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md", *sorted(glob.glob("docs/*.md")), *sorted(glob.glob("*/README.md")),
        *sorted(glob.glob("*/docs/*.md"))]
INLINE = re.compile(r"`((?:cargo (?:run|build|test)|oauth2-api-gateway )[^`]*)`")


def strip_comment(line):
    """The command without a trailing `# comment` (outside quotes)."""
    quote = None
    for i, c in enumerate(line):
        if c in "\"'" and quote in (None, c):
            quote = None if quote == c else c
        elif c == "#" and quote is None and (i == 0 or line[i - 1] == " "):
            return line[:i].strip()
    return line.strip()


def doc_commands():
    found = {}
    for path in DOCS:
        if "/target/" in path or path.startswith("bench/"):
            continue
        text = open(os.path.join(ROOT, path)).read()
        for block in re.finditer(r"```(?:sh|bash|console|shell)\n(.*?)```", text, re.S):
            for line in block.group(1).split("\n"):
                command = strip_comment(line)
                if command:
                    found.setdefault(command, path)
        for span in INLINE.finditer(text):
            found.setdefault(span.group(1).strip(), path)
    return found


def run(entry, binary):
    env = dict(os.environ, BIN=binary, ROOT=ROOT, NO_COLOR="1")
    with tempfile.TemporaryDirectory() as work:
        process = subprocess.Popen(["bash", "-c", entry["run"]], cwd=work, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        deadline = time.time() + entry.get("timeout", 30)
        output = ""
        if entry["kind"] == "server":
            fd = process.stdout.fileno()
            while time.time() < deadline and entry["expect"] not in output:
                ready, _, _ = select.select([fd], [], [], 0.2)
                if ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    output += chunk.decode("utf-8", "replace")
            ok = entry["expect"] in output
            os.killpg(process.pid, 15)
            process.wait()
            return ok, output
        try:
            output, _ = process.communicate(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            return False, "timed out"
        return process.returncode == 0 and entry["expect"] in output, output


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "debug/oauth2-api-gateway")
    table = tomllib.load(open(os.path.join(ROOT, "scripts/doc_commands.toml"), "rb"))["command"]
    by_doc = {e["doc"]: e for e in table}
    failures = []
    for command, path in doc_commands().items():
        entry = by_doc.get(command)
        if entry is None:
            failures.append(f"{path}: `{command}` is not in scripts/doc_commands.toml")
            continue
        if entry.get("same") is False and not entry.get("why"):
            failures.append(f"`{command}`: runs an equivalent without saying why")
        if entry["kind"] in ("run", "server"):
            ok, output = run(entry, binary)
            print(f"{'ok  ' if ok else 'FAIL'} {entry['kind']:6} {command}")
            if not ok:
                failures.append(f"`{command}` ({path}) did not print {entry['expect']!r}:\n{output[-2000:]}")
        else:
            print(f"     {entry['kind']:6} {command}  ({entry.get('by') or entry.get('why')})")
    stale = set(by_doc) - set(doc_commands())
    for command in sorted(stale):
        failures.append(f"scripts/doc_commands.toml lists `{command}`, which no doc has any more")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
