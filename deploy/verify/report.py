"""The report: one PASS/FAIL/SKIP line per fact as it is measured, their counts for the summary."""


class Results:
    """The lines printed so far: (status, required) of each."""

    def __init__(self):
        self.rows = []

    def add(self, status, ep, fact, detail, required=True, aws_only=False, check=None):
        note = []
        if check:
            note.append(f"[check {check}]")
        if aws_only:
            note.append("[AWS only]")
        if not required and status == "FAIL":
            note.append("(informational)")
        line = f"{status:<4}  {str(ep):<10}  {fact:<24}  {detail}"
        if note:
            line += "  " + " ".join(note)
        print(line, flush=True)
        self.rows.append((status, required))

    def failed(self):
        return [r for r in self.rows if r[0] == "FAIL" and r[1]]

    def counts(self):
        c = {"PASS": 0, "FAIL": 0, "SKIP": 0}
        for s, _ in self.rows:
            c[s] += 1
        return c

    def print_summary(self, took):
        c = self.counts()
        print(f"summary: {c['PASS']} PASS, {c['FAIL']} FAIL ({len(self.failed())} required), {c['SKIP']} SKIP "
              f"in {took:.1f} s", flush=True)


def secs(t):
    return f"{t:.2f} s" if t is not None else "-"


def mbps(n, t):
    return f"{n / t / 1e6:.2f} MB/s" if t else "-"


def describe(a, extra=""):
    """An answer as a line shows it: status, ranges, lengths, framing, X-Cache, time; `extra`
    after a semicolon."""
    if a.error:
        return a.error
    cr = a.header("content-range")
    bits = [str(a.status)]
    if cr:
        bits.append(cr)
    cl = a.header("content-length")
    rl = a.header("x-amzn-remapped-content-length")
    if cl is not None:
        bits.append(f"Content-Length {cl}")
    if rl is not None:
        bits.append(f"x-amzn-remapped-content-length {rl}")
    if a.chunked:
        bits.append("chunked")
    bits.append(f"{a.length} bytes")
    if a.header("x-cache"):
        bits.append(a.header("x-cache"))
    bits.append(secs(a.total_s))
    s = ", ".join(bits)
    return s + (f"; {extra}" if extra else "")


def verdict(problems):
    return "FAIL" if problems else "PASS"
