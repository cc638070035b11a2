"""Sum the JUnit reports of every nox test session into one closing line: 'tests: N passed, N failed, N skipped'."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

passed = failed = skipped = 0
for report in sorted(Path(sys.argv[1]).glob("*.xml")):
    for suite in ET.parse(report).getroot().iter("testsuite"):
        tests, errors = int(suite.get("tests", 0)), int(suite.get("errors", 0))
        fails, skips = int(suite.get("failures", 0)), int(suite.get("skipped", 0))
        failed += fails + errors
        skipped += skips
        passed += tests - fails - errors - skips
        print(f"{report.stem:>10}: {tests - fails - errors - skips} passed, {fails + errors} failed, {skips} skipped")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
