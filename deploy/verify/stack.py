"""--stack: the endpoints, bucket and router parameters from the stack; --break-stream: the
stream function's timeout lowered for the cut check."""

import time

from .checks_stream import check_cut_stream
from .fixtures import BIG, Fixture
from .limits import BREAK_TIMEOUT


def from_stack(args, session):
    """Fills the endpoints, bucket and router parameters from the stack's outputs."""
    cfn = session.client("cloudformation", region_name=args.region)
    stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
    out = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    args.cloudfront = args.cloudfront or "https://" + out["DistributionDomainName"]
    args.stream_url = args.stream_url or out.get("StreamFunctionUrl")
    args.buffered_url = args.buffered_url or out.get("BufferedFunctionUrl")
    args.bucket = args.bucket or out["BucketName"]
    for name, attr in (("Prefix", "prefix"), ("SignedPrefixes", "signed_prefixes"),
                       ("MultiRange", "multi_range"), ("RawOrigin", "raw_origin")):
        if getattr(args, attr) is None and name in params:
            setattr(args, attr, params[name])
    if args.break_stream and not args.stream_function:
        res = cfn.describe_stack_resource(StackName=args.stack, LogicalResourceId="StreamFunction")
        args.stream_function = res["StackResourceDetail"]["PhysicalResourceId"]
    print(f"stack {args.stack}: CloudFront {args.cloudfront}, bucket {args.bucket}, "
          f"Prefix {args.prefix!r}, SignedPrefixes {args.signed_prefixes!r}, "
          f"MultiRange {args.multi_range}, RawOrigin {args.raw_origin}", flush=True)


class ShortTimeout:
    """--break-stream: the stream function's timeout lowered for the cut check, then restored
    (also on an error or Ctrl-C). Streams of other viewers longer than that are cut meanwhile:
    use a stack nobody else is using."""

    def __init__(self, session, args):
        self.lam = session.client("lambda", region_name=args.region)
        self.name = args.stream_function
        self.saved = None

    def __enter__(self):
        cfg = self.lam.get_function_configuration(FunctionName=self.name)
        self.saved = cfg["Timeout"]
        print(f"break-stream: {self.name} timeout {self.saved} s -> {BREAK_TIMEOUT} s", flush=True)
        self.lam.update_function_configuration(FunctionName=self.name, Timeout=BREAK_TIMEOUT)
        self.lam.get_waiter("function_updated_v2").wait(FunctionName=self.name)
        return self

    def __exit__(self, *exc):
        self.lam.update_function_configuration(FunctionName=self.name, Timeout=self.saved)
        self.lam.get_waiter("function_updated_v2").wait(FunctionName=self.name)
        print(f"break-stream: {self.name} timeout restored to {self.saved} s", flush=True)
        return False


def run_cut_on_aws(v, session):
    """--break-stream: a fresh copy of the 190 MiB object, cut by the function's deadline."""
    big = v.fx["big"]
    key = v.run_key + "cut/big.bin"
    v.s3.copy_object(Bucket=v.args.bucket, Key=v.prefix + key,
                     CopySource={"Bucket": v.args.bucket, "Key": v.prefix + big.key},
                     MetadataDirective="COPY")
    cut = Fixture("big", key, BIG, big.content_type, keep=False)
    v.fx["cut"] = cut
    with ShortTimeout(session, v.args):
        time.sleep(2)
        check_cut_stream(v)
