"""The Lambda cost model (loadtest/cost.py runs it; method and limits: docs/cost.md).

runtime_api  the fake Lambda Runtime API and what one invocation cost in time
functions    the function processes (imgorigin, the recipe's Node handler) and their settings
scenarios    the Function URL events each scenario sends
backend      the S3 stand-in and the objects it serves
measure      warm and cold invocations of one function for one scenario
capacity     what one Fargate task serves (oha against `imgorigin serve`)
pricing      durations to dollars: Lambda, S3, logs, CloudFront, the Fargate crossover
report       the Markdown tables
cli          the command line: runs it all, writes loadtest/results/cost.{md,json}
"""

import sys
from pathlib import Path

# The process helpers (nginx, s3s-fs, /proc readings) are the load test's, in loadtest/harness;
# appended, not prepended, so its scenarios.py and report.py never shadow anything.
_HARNESS = str(Path(__file__).resolve().parents[1] / "harness")
if _HARNESS not in sys.path:
    sys.path.append(_HARNESS)
