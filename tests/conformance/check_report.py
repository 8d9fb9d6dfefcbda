#!/usr/bin/python3
"""Checks critest's JUnit report against the documented list of specs allowed to fail.

  check_report.py REPORT.xml known_failures.txt

known_failures.txt: one spec per line, "<text the spec's name contains> | <why it may fail>";
'#' starts a comment. Prints passed/failed/skipped counts and every failure. Exit 1 when a
spec fails that is not listed, or a listed spec passed (take it off the list).
"""

import sys
import xml.etree.ElementTree as ET


def load_known(path):
    known = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, why = line.partition("|")
                known.append((name.strip(), why.strip()))
    return known


def main(report, known_path):
    known = load_known(known_path)
    passed, failed, skipped = [], [], []
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        if name.startswith("[BeforeSuite]") or name.startswith("[AfterSuite]"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append((name, case))
            continue
        if case.find("skipped") is not None or case.get("status") == "skipped":
            skipped.append(name)
        elif case.find("failure") is not None or case.find("error") is not None:
            failed.append((name, case))
        else:
            passed.append(name)
    print(f"critest: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")

    def listed(name):
        return next((why for pattern, why in known if pattern in name), None)

    unexpected = []
    for name, case in failed:
        why = listed(name)
        if why:
            print(f"  known failure: {name}  ({why})")
        else:
            node = case.find("failure")
            if node is None:
                node = case.find("error")
            message = (node.get("message") or node.text or "").strip().splitlines()
            print(f"  FAILED: {name}\n      {message[0] if message else ''}")
            unexpected.append(name)
    now_passing = [name for name in passed if listed(name)]
    for name in now_passing:
        print(f"  listed as a known failure but PASSED (remove it from the list): {name}")
    return 1 if unexpected or now_passing else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
