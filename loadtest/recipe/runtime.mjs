// A minimal Lambda Runtime API loop for a Node handler: what the managed nodejs runtime does
// for a BUFFERED function (GET next, call the handler, POST its JSON result; an exception is
// POSTed to /error). Usage: AWS_LAMBDA_RUNTIME_API=host:port[/prefix] node runtime.mjs index.mjs
// Node's own http client with keep-alive, no extra dependencies; loadtest/cost.py runs it.
import http from "node:http";
import { pathToFileURL } from "node:url";
import path from "node:path";

// host:port, as Lambda sets it; a path after it is kept as a prefix (cargo lambda watch serves
// its functions' Runtime API under /.rt).
const api = /^(?:http:\/\/)?([^:/]+):(\d+)(\/.*)?$/.exec(process.env.AWS_LAMBDA_RUNTIME_API ?? "");
if (!api) throw new Error("AWS_LAMBDA_RUNTIME_API is not host:port[/prefix]");
const [host, port, prefix] = [api[1], api[2], (api[3] ?? "").replace(/\/$/, "")];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const { handler } = await import(pathToFileURL(path.resolve(process.argv[2])).href);

function call(method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: prefix + urlPath, agent,
      headers: body === undefined ? {} : { "content-type": "application/json",
                                             "content-length": Buffer.byteLength(body) } },
      (res) => {
        const parts = [];
        res.on("data", (c) => parts.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
        res.on("error", reject);
      });
    req.on("error", reject);
    req.end(body);
  });
}

for (;;) {
  const next = await call("GET", "/2018-06-01/runtime/invocation/next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
  const context = { awsRequestId: id, getRemainingTimeInMillis: () => deadline - Date.now() };
  let out, kind = "response";
  try {
    const result = await handler(JSON.parse(next.body.toString("utf8")), context);
    // cargo lambda watch 1.9.2 answers 500 to a Function URL response without `cookies` (its
    // aws_lambda_events 0.15.1 ApiGatewayV2httpResponse requires the field); Lambda does not.
    // loadtest/cost/watch.py sets this; the handler's answer is otherwise untouched.
    if (process.env.RECIPE_EMPTY_COOKIES && result && typeof result === "object" && !("cookies" in result)) {
      result.cookies = [];
    }
    out = JSON.stringify(result);
  } catch (err) {
    kind = "error";
    out = JSON.stringify({ errorType: err?.name ?? "Error", errorMessage: String(err?.message ?? err) });
  }
  await call("POST", `/2018-06-01/runtime/invocation/${id}/${kind}`, out);
}
