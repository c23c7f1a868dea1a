// The fault proxy (`fault-proxy/`, a Rust binary) for the browser tests: it stands between the
// page and the server (whose local chunk store is the same origin, so chunk PUTs and GETs cross
// it too) and adds latency, resets mid-body, truncated answers and stalled streams, seeded.
// Driven over its stdin; stopped by closing it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const BIN = process.env.FAULT_PROXY_BIN
  || new URL(`${process.env.CARGO_TARGET_DIR || '../../target'}/debug/fault-proxy`, import.meta.url).pathname;

/**
 * Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) with `faults` ({seed, latencyMs,
 * reset, truncate, stall, stallMs}; chances from 0 to 1) on. Resolves once it listens; `base`
 * is the address a page opens instead of the server's.
 */
export async function startProxy(upstream, faults = {}) {
  const port = new URL(upstream).port;
  const args = ['--upstream', `127.0.0.1:${port}`];
  const flags = { seed: '--seed', latencyMs: '--latency-ms', reset: '--reset', truncate: '--truncate', stall: '--stall', stallMs: '--stall-ms' };
  for (const [k, flag] of Object.entries(flags)) if (faults[k] !== undefined) args.push(flag, String(faults[k]));
  const child = spawn(BIN, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  // Every stdout line after the first answers one `stats`, in order.
  const waiting = [];
  let exited = null;
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fault proxy did not start within 10 s')), 10_000);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`fault proxy ${BIN}: ${e.message}`)); });
    child.once('exit', (code) => { exited = code; clearTimeout(timer); reject(new Error(`the fault proxy exited with ${code}`)); });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = line.match(/^listening on (127\.0\.0\.1:\d+)$/);
      if (m) resolve(`http://${m[1]}`); else reject(new Error(`the fault proxy said ${line}`));
      lines.on('line', (l) => waiting.shift()?.(l));
    });
  });
  const send = (line) => {
    if (exited !== null) throw new Error(`the fault proxy exited with ${exited}`);
    child.stdin.write(`${line}\n`);
  };
  const proxy = {
    base,
    /** Counts so far: {connections, resets, truncations, stalls, bytes_up, bytes_down}. Since
     * the proxy reads its commands in order, this also waits for every command sent before. */
    stats() {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the fault proxy did not answer stats')), 5_000);
        waiting.push((l) => { clearTimeout(timer); resolve(JSON.parse(l)); });
        send('stats');
      });
    },
    /** Resets every open connection (an SSE stream included); resolves when done, to how
     * many it cut (give or take a planned reset landing at the same moment). */
    async resetAll() {
      const before = await proxy.stats();
      send('reset');
      return (await proxy.stats()).resets - before.resets;
    },
    async faultsOn() { send('faults on'); await proxy.stats(); },
    async faultsOff() { send('faults off'); await proxy.stats(); },
    async setUpstream(url) { send(`upstream 127.0.0.1:${new URL(url).port}`); await proxy.stats(); },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(t);
    },
  };
  return proxy;
}
