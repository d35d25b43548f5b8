// A steady load inside the test cluster's namespace: CONCURRENCY workers POST BODY to URL back to back until SIGTERM,
// then print one JSON line: how many were sent, answered 2xx, failed (by status or error), and the first failures.
//   node -r ts-node/register/transpile-only test/kubernetes/tools/load.ts URL CONCURRENCY BODY

import * as http from 'node:http';

const [url, concurrencyText, body] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrencyText) });
const codes: Record<string, number> = {};
const failures: string[] = [];
let sent = 0;
let ok = 0;
let stopped = false;

function once(): Promise<void> {
  return new Promise((resolve) => {
    sent++;
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 30_000 },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          const code = String(res.statusCode);
          codes[code] = (codes[code] ?? 0) + 1;
          if (res.statusCode === 200) ok++;
          else if (failures.length < 5) failures.push(`${code}: ${text.slice(0, 200)}`);
          resolve();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', (err) => {
      codes.error = (codes.error ?? 0) + 1;
      if (failures.length < 5) failures.push(err.message);
      resolve();
    });
    req.end(body);
  });
}

async function worker(): Promise<void> {
  while (!stopped) await once();
}

const running = Promise.all(Array.from({ length: Number(concurrencyText) }, worker));
console.log('started');
process.on('SIGTERM', () => {
  stopped = true;
  void running.then(() => {
    console.log(JSON.stringify({ sent, ok, failed: sent - ok, codes, failures }));
    process.exit(0);
  });
});
