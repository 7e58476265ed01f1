"""The platform's numbers the checks hold answers to (docs/lambda.md)."""

MIB = 1024 * 1024
# The buffered function's largest answer (a longer range is cut to it, Content-Range saying so).
BUFFERED_BUDGET = 4 * MIB
# Lambda's documented streaming rate: the first 6 MB uncapped, then 2 MB/s.
UNCAPPED = 6_000_000
CAP = 2_000_000
# A bodyless answer (HEAD, 304, 412, an empty object) slower than this is the hang that
# other runtimes show behind Function URLs.
PROMPT = 3.0
# --break-stream: the stream function's timeout while the cut check runs, in seconds.
BREAK_TIMEOUT = 10
