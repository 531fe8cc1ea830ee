// Times the reference JSONata implementation (npm jsonata, pinned in
// package.json) on the same expressions and inputs as
// jsonata/bench_test.go, and prints ns per evaluation.
//
// Usage: npm install && node bench.js [iterations]
'use strict';
const jsonata = require('jsonata');

const reading = {deviceId: 'dev-42', ts: '2026-11-22T10:00:00Z', type: 'temperature', value: 21.7, unit: 'C', battery: 0.83, tags: ['roof', 'north']};

function readingsDoc() {
  const readings = [];
  for (let i = 0; i < 20; i++) {
    readings.push({ts: `2026-11-22T10:${String(i).padStart(2, '0')}:00Z`, value: 10.5 + i * 1.5});
  }
  return {deviceId: 'dev-42', readings};
}

const cases = [
  ['Reshape', '{"id": deviceId, "t": ts, "v": value, "status": value > 30 ? "ALERT" : "OK", "tags": tags}', reading],
  ['FilterAverage', '$average(readings[value > 20].value)', readingsDoc()],
  ['StringBuild', 'deviceId & "/" & type & "/" & $string(value)', reading],
];

async function main() {
  const iterations = Number(process.argv[2] || 200000);
  console.log(`node ${process.version}, jsonata ${require('jsonata/package.json').version}, ${iterations} iterations`);
  for (const [name, src, input] of cases) {
    const expr = jsonata(src);
    // warm up the JIT
    for (let i = 0; i < 20000; i++) await expr.evaluate(input);
    const start = process.hrtime.bigint();
    let last;
    for (let i = 0; i < iterations; i++) last = await expr.evaluate(input);
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    console.log(`${name.padEnd(14)} ${ns.toFixed(0).padStart(8)} ns/eval   result: ${JSON.stringify(last)}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
