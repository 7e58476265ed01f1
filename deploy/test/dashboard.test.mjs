// The operations part of deploy/template.yaml (docs/lambda.md, "Metrics, dashboard and
// alarms"): the dashboard's body is JSON once CloudFormation's !Sub has filled it in, for any
// parameter values the template accepts (cfn-lint does not parse it); it and the alarms read
// only the metrics and dimensions the functions emit; every alarm is on the dashboard. Run with
// `node --test deploy/`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { template, resource } from './harness.mjs';

// The functions' Embedded Metric Format contract: metric names and the values of each
// dimension (FunctionName is the function's own name).
const METRICS = ['Requests', 'Errors5xx', 'BytesOut', 'Duration', 'TimeToFirstByte',
  'StoreLatency', 'StoreRetries', 'Resumes', 'AbortedBodies', 'DeadlineCuts',
  'TransformQueueWait', 'Overloaded'];
const DIMENSIONS = {
  StatusClass: ['2xx', '3xx', '4xx', '5xx'],
  Kind: ['object', 'range', 'multirange', 'head', 'conditional', 'transform', 'other'],
};
const FUNCTIONS = { StreamFunction: 'imgorigin-stream', BufferedFunction: 'imgorigin-buffered' };

// The text of a block scalar (`key: !Sub |`) inside a resource.
function block(text, key) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${key}: !Sub |`);
  assert.ok(start > 0, key);
  const indent = lines[start].search(/\S/) + 2;
  const body = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.search(/\S/) < indent) break;
    body.push(line.slice(indent));
  }
  return body.join('\n');
}

// As CloudFormation's !Sub: ${Name} and ${Name.Attr} replaced, ${!Literal} kept as ${Literal}.
function sub(text, values) {
  return text.replace(/\$\{([^}]*)\}/g, (_, name) => {
    if (name.startsWith('!')) return '${' + name.slice(1) + '}';
    if (name.endsWith('.Arn')) return `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name.slice(0, -4)}`;
    assert.ok(name in values, `no value for \${${name}}`);
    return values[name];
  });
}

function parameter(name) {
  const text = resource(name);
  const pattern = text.match(/^ {4}AllowedPattern: (".*")$/m);
  const dflt = text.match(/^ {4}Default: (.*)$/m);
  return {
    pattern: pattern && new RegExp(JSON.parse(pattern[1])),
    default: dflt && dflt[1].replace(/^"(.*)"$/, '$1'),
  };
}

const alarms = [...template.matchAll(/^ {2}(\w+):\n {4}Type: AWS::CloudWatch::Alarm$/gm)].map((m) => m[1]);
const body = block(resource('Dashboard'), 'DashboardBody');

function render(params = {}) {
  return JSON.parse(sub(body, {
    'AWS::StackName': 'imgorigin',
    'AWS::Region': 'eu-west-1',
    Distribution: 'E1ABCDEF234567',
    ...FUNCTIONS,
    MetricsNamespace: parameter('MetricsNamespace').default,
    ErrorRateThreshold: parameter('ErrorRateThreshold').default,
    AbortRateThreshold: parameter('AbortRateThreshold').default,
    StreamTimeout: '180',
    BufferedTimeout: '15',
    ...params,
  }));
}

test('the dashboard body is JSON with the defaults and with edge values', () => {
  const namespace = parameter('MetricsNamespace').pattern;
  const threshold = parameter('ErrorRateThreshold').pattern;
  for (const params of [{}, {
    MetricsNamespace: 'img.origin/prod#1:a_b-c', ErrorRateThreshold: '1', AbortRateThreshold: '0.000001',
    StreamTimeout: '900', BufferedTimeout: '3',
  }, { ErrorRateThreshold: '0', AbortRateThreshold: '1.0' }]) {
    if (params.MetricsNamespace) assert.match(params.MetricsNamespace, namespace);
    for (const t of [params.ErrorRateThreshold, params.AbortRateThreshold].filter(Boolean)) {
      assert.match(t, threshold);
    }
    const dashboard = render(params);
    for (const w of dashboard.widgets) {
      assert.ok(w.x + w.width <= 24, `widget at ${w.x} is ${w.width} wide`);
    }
  }
});

test('the parameters only take values the dashboard and CloudWatch accept', () => {
  const namespace = parameter('MetricsNamespace').pattern;
  for (const ok of ['imgorigin', 'imgorigin/prod', 'A', 'AWS', 'AW/x', 'AWSome/x', 'aws/x', 'a.b#c:d-e_f']) {
    assert.match(ok, namespace);
  }
  // AWS/ is reserved for AWS's own namespaces; the functions refuse a space (src/observe/emf.rs)
  // though CloudWatch allows it.
  for (const bad of ['', 'AWS/', 'AWS/Lambda', ':x', '/x', ' x', 'a b', 'a"b', 'a\\b', 'a{b}']) {
    assert.doesNotMatch(bad, namespace);
  }
  for (const name of ['ErrorRateThreshold', 'AbortRateThreshold']) {
    const { pattern } = parameter(name);
    for (const ok of ['0', '1', '0.05', '0.000001', '1.0']) {
      assert.match(ok, pattern);
      assert.equal(typeof JSON.parse(ok), 'number');
    }
    for (const bad of ['.05', '1.5', '2', '-0.1', '5e-2', '0.05 ', '']) assert.doesNotMatch(bad, pattern);
  }
});

test('the dashboard reads only the metrics and dimensions the functions emit', () => {
  const dashboard = render();
  let seen = 0;
  for (const w of dashboard.widgets.filter((w) => w.type === 'metric')) {
    for (const m of w.properties.metrics) {
      if (typeof m[0] !== 'string' || m[0] !== 'imgorigin') continue;
      seen++;
      assert.ok(METRICS.includes(m[1]), m[1]);
      const dims = Object.fromEntries(
        Array.from({ length: (m.length - 2) >> 1 }, (_, i) => [m[2 + 2 * i], m[3 + 2 * i]])
          .filter(([k]) => typeof k === 'string'));
      assert.ok(Object.values(FUNCTIONS).includes(dims.FunctionName), JSON.stringify(m));
      // Each emitted dimension set: [FunctionName], plus at most one of StatusClass or Kind.
      const others = Object.keys(dims).filter((k) => k !== 'FunctionName');
      assert.ok(others.length <= 1, JSON.stringify(m));
      for (const k of others) assert.ok(DIMENSIONS[k].includes(dims[k]), JSON.stringify(m));
    }
  }
  assert.ok(seen >= METRICS.length);
  for (const name of METRICS) {
    assert.ok(body.includes(`"\${MetricsNamespace}", "${name}"`), `${name} on the dashboard`);
  }
});

test('every alarm is on the dashboard and reads an emitted or AWS metric', () => {
  const listed = render().widgets.find((w) => w.type === 'alarm').properties.alarms
    .map((arn) => arn.split(':').pop());
  assert.deepEqual([...listed].sort(), [...alarms].sort());
  for (const name of alarms) {
    const text = resource(name);
    assert.match(text, /^ {6}AlarmDescription: /m, name);
    assert.match(text, /^ {6}TreatMissingData: notBreaching$/m, name);
    assert.match(text, /^ {6}AlarmActions: !If \[AlarmNotifications, \[!Ref AlarmTopicArn\], !Ref AWS::NoValue\]$/m, name);
    const ns = text.match(/^ +Namespace: (.*)$/m)[1];
    const metric = text.match(/^ +MetricName: (.*)$/m)[1];
    if (ns === '!Ref MetricsNamespace') {
      assert.ok(METRICS.includes(metric), `${name}: ${metric}`);
    } else {
      assert.equal(ns, 'AWS/Lambda', name);
    }
    assert.match(text, /Value: !Ref (StreamFunction|BufferedFunction)$/m, name);
  }
});

// Metric math (CloudFormation has no arithmetic): Duration in ms over the timeout in s.
test('the duration alarms compare Duration with 90% of their own function\'s timeout', () => {
  for (const [alarm, fn, timeout] of [['StreamDurationAlarm', 'StreamFunction', 'StreamTimeout'],
    ['BufferedDurationAlarm', 'BufferedFunction', 'BufferedTimeout']]) {
    const text = resource(alarm);
    assert.match(text, new RegExp(`Value: !Ref ${fn}$`, 'm'));
    assert.match(text, new RegExp(`Expression: !Sub "duration / \\(1000 \\* \\$\\{${timeout}\\}\\)"`));
    assert.match(text, /^ {6}Threshold: 0\.9$/m);
    assert.equal(text.match(/ReturnData: true/g).length, 1);
    assert.match(resource(fn), new RegExp(`^ {6}Timeout: !Ref ${timeout}$`, 'm'));
  }
});

test('both functions emit their metrics into MetricsNamespace', () => {
  for (const fn of Object.keys(FUNCTIONS)) {
    const text = resource(fn);
    assert.match(text, /^ {10}IMGORIGIN_METRICS: emf$/m, fn);
    assert.match(text, /^ {10}IMGORIGIN_METRICS_NAMESPACE: !Ref MetricsNamespace$/m, fn);
  }
});
