// A whole Cairn cluster on loopback, for cluster.test.mjs and for a person to try
// (`cargo xtask cluster`, which runs this file as a script): three API nodes on one fresh
// PostgreSQL database, a three-node Garage with replication factor 3, and one nginx in front of
// both: its web entry balances the API nodes, its S3 entry the Garage nodes, and each routes
// around a node that is down. Every process is bounded in time to start and killed at stop.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GARAGE, freePort, garageToml, s3Request, startServer, until } from './harness.mjs';

const NGINX = process.env.NGINX_BIN || 'nginx';
/** The server the cluster's database is made on (`DATABASE_URL`, as the Rust tests read it). */
const ADMIN_DB = process.env.DATABASE_URL?.startsWith('postgres')
  ? process.env.DATABASE_URL
  : 'postgres://postgres@127.0.0.1:5432/postgres';
/** Any 16+ characters: lets the fixture read each node's `/metrics` (open event streams). */
const METRICS_TOKEN = 'cluster-metrics-token';

const run = promisify(execFile);

/** `psql -c sql` on the admin database, bounded. */
async function psql(sql) {
  await run('psql', [ADMIN_DB, '-v', 'ON_ERROR_STOP=1', '-qc', sql],
    { timeout: 30_000, env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
}

/** Resolves once something accepts TCP connections on `port`; fails at once if `proc` ends. */
async function listening(port, proc, what) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.ended()) throw new Error(`${what} exited (${proc.process.exitCode ?? proc.process.signalCode ?? 'did not start'})`);
    const up = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A child process with its output in `log`, and a way to end it (`signal`) and wait. */
function child(bin, args, log, env = process.env) {
  const fd = openSync(log, 'a');
  const p = spawn(bin, args, { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let failed = null; // could not start (ENOENT, …): no 'exit' follows
  const exited = new Promise((r) => {
    p.once('exit', r);
    p.once('error', (e) => { failed = e; r(); });
  });
  const ended = () => failed !== null || p.exitCode !== null || p.signalCode !== null;
  return {
    process: p,
    ended,
    async end(signal = 'SIGKILL') {
      if (!ended()) {
        p.kill(signal);
        await exited;
      }
    },
  };
}

/** The last lines of a log file, for an error message. */
function tail(path, lines = 20) {
  try { return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n'); } catch { return ''; }
}

/** One Garage server of the cluster under `dir`: its config, ports and process. */
async function garageNode(dir, i, rpcSecret) {
  const [rpc, s3, admin] = [await freePort(), await freePort(), await freePort()];
  const home = join(dir, `garage${i + 1}`);
  mkdirSync(home);
  const config = join(home, 'garage.toml');
  writeFileSync(config, garageToml({ dir: home, replication: 3, rpc, s3, admin, secret: rpcSecret }));
  const log = join(home, 'garage.log');
  const node = {
    config,
    log,
    s3: `http://127.0.0.1:${s3}`,
    admin: `http://127.0.0.1:${admin}`,
    proc: null,
    async start() {
      node.proc = child(GARAGE, ['-c', config, 'server'], log, { ...process.env, RUST_LOG: 'warn' });
      try {
        for (const port of [rpc, s3, admin]) await listening(port, node.proc, `garage ${i + 1}`);
      } catch (e) {
        throw new Error(`${e.message}\n${tail(log)}`);
      }
    },
    /** `garage -c <this node's config> …args`: its stdout. */
    async cli(...args) {
      const { stdout } = await run(GARAGE, ['-c', config, ...args],
        { timeout: 30_000, env: { ...process.env, RUST_LOG: 'warn' } });
      return stdout.trim();
    },
    /** The admin API's `/health` text ("Garage is fully operational", "… operational but some
     * storage nodes are unavailable", …), or throws when the node does not answer. */
    async health() {
      const r = await fetch(`${node.admin}/health`, { signal: AbortSignal.timeout(5_000) });
      return `${r.status} ${(await r.text()).split('\n')[0]}`;
    },
  };
  await node.start();
  return node;
}

/** The nginx config: an S3 entry balancing the Garage nodes and, once the API nodes listen,
 * a web entry balancing them. Plain HTTP on loopback (TLS is reverse-proxy.test.mjs's part). */
function nginxConfig(dir, { s3Port, garage, webPort, cairn }) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((d) => `  ${d}_temp_path ${join(dir, d)};`).join('\n');
  // A node that refuses or does not connect in 2 s is skipped for the next one (then rested
  // for nginx's default 10 s). No upstream keepalive: every request opens its own connection,
  // so none is ever sent on a kept connection to a node that has just died (nginx would not
  // resend a POST that went out).
  const failover = `    proxy_connect_timeout 2s;
    proxy_next_upstream error timeout http_502 http_503;`;
  const proxied = `      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;`;
  const web = !cairn ? '' : `
  upstream cairn {
${cairn.map((b) => `    server ${new URL(b).host};`).join('\n')}
  }
  # The web app and API (docs/deploy/nginx-cairn.conf, over several nodes).
  server {
    listen 127.0.0.1:${webPort};
    client_max_body_size 0;
${failover}
    location / {
      proxy_pass http://cairn;
${proxied}
      proxy_request_buffering off;
    }
    # The live change stream: every event passed on at once, kept open while it idles.
    location = /api/v1/events {
      proxy_pass http://cairn;
${proxied}
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 1h;
    }
  }`;
  return `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
${temp}
  upstream garage {
${garage.map((g) => `    server ${new URL(g.s3).host};`).join('\n')}
  }
  # S3 for the API nodes and for browsers' pre-signed URLs. The Host header goes through as
  # it came: pre-signed URLs sign it.
  server {
    listen 127.0.0.1:${s3Port};
    client_max_body_size 0;
${failover}
    location / {
      proxy_pass http://garage;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
${web}
}
`;
}

/**
 * Starts the cluster. Answers `{ base, nodes: [{base, stop(), kill(), streams()}…], garage,
 * databaseUrl, s3, stop() }`: `base` is the load balancer's web entry; `garage.nodes[i]` are
 * the Garage servers (`stopNode(i)` kills one); `s3` the bucket and key the API nodes use.
 */
export async function startCluster({ nodes: count = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cluster-'));
  const dbName = `cairn_cluster_${randomBytes(6).toString('hex')}`;
  const databaseUrl = Object.assign(new URL(ADMIN_DB), { pathname: `/${dbName}` }).href;
  const garageNodes = [];
  const apiNodes = [];
  let nginx = null;
  let dbMade = false;

  const stop = async () => {
    await Promise.all(apiNodes.map((n) => n.stop()));
    await nginx?.end('SIGTERM');
    await Promise.all(garageNodes.map((g) => g.proc?.end()));
    if (dbMade) await psql(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await psql(`CREATE DATABASE "${dbName}"`);
    dbMade = true;

    // Garage: three servers sharing one RPC secret, connected, one layout with every node
    // holding a full copy (replication factor 3), then a key and a bucket.
    const rpcSecret = randomBytes(32).toString('hex');
    for (let i = 0; i < 3; i += 1) garageNodes.push(await garageNode(dir, i, rpcSecret));
    const ids = [];
    for (const g of garageNodes) ids.push(await g.cli('node', 'id', '-q'));
    for (const id of ids.slice(1)) await garageNodes[0].cli('node', 'connect', id);
    await garageNodes[0].cli('layout', 'assign', '-z', 'dc1', '-c', '1G', ...ids.map((id) => id.split('@')[0]));
    await garageNodes[0].cli('layout', 'apply', '--version', '1');
    await until(async () => {
      const all = await Promise.all(garageNodes.map((g) => g.health()));
      return all.every((h) => h === '200 Garage is fully operational');
    }, { timeout: 60_000, what: 'every Garage node to report the cluster fully operational' });
    const s3 = {
      region: 'garage',
      bucket: 'cairn',
      accessKey: `GK${randomBytes(12).toString('hex')}`,
      secretKey: randomBytes(32).toString('hex'),
    };
    await garageNodes[0].cli('key', 'import', '--yes', '-n', 'cairn', s3.accessKey, s3.secretKey);
    await garageNodes[0].cli('bucket', 'create', s3.bucket);
    await garageNodes[0].cli('bucket', 'allow', '--read', '--write', '--owner', s3.bucket, '--key', s3.accessKey);

    // nginx, first with the S3 entry only: the API nodes need it to start.
    const [s3Port, webPort] = [await freePort(), await freePort()];
    s3.endpoint = `http://127.0.0.1:${s3Port}`;
    for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
    const nginxConf = join(dir, 'nginx.conf');
    writeFileSync(nginxConf, nginxConfig(dir, { s3Port, garage: garageNodes }));
    nginx = child(NGINX, ['-e', join(dir, 'nginx.log'), '-p', dir, '-c', nginxConf], join(dir, 'nginx.out'));
    await listening(s3Port, nginx, 'nginx');

    // Every Garage node takes a signed PutObject on its own, and so does the S3 entry.
    for (const endpoint of [...garageNodes.map((g) => g.s3), s3.endpoint]) {
      const at = { ...s3, endpoint };
      await until(async () => {
        const r = await s3Request(at, 'PUT', `/${s3.bucket}/cluster-probe`, '', endpoint);
        return r.ok || Promise.reject(new Error(`${r.status} ${await r.text()}`));
      }, { timeout: 30_000, what: `a PutObject at ${endpoint}` });
    }
    const gone = await s3Request(s3, 'DELETE', `/${s3.bucket}/cluster-probe`, '', '');
    if (!gone.ok) throw new Error(`DeleteObject: ${gone.status} ${await gone.text()}`);

    const env = {
      CAIRN_DATABASE_URL: databaseUrl,
      CAIRN_S3_ENDPOINT: s3.endpoint,
      CAIRN_S3_BUCKET: s3.bucket,
      CAIRN_S3_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKey,
      AWS_SECRET_ACCESS_KEY: s3.secretKey,
      CAIRN_TRUSTED_PROXY_HEADER: 'x-forwarded-for',
      CAIRN_TRUSTED_PROXIES: '127.0.0.1',
      CAIRN_METRICS_TOKEN: METRICS_TOKEN,
    };
    // One at a time: the first applies the migrations, the others find them done.
    for (let i = 0; i < count; i += 1) apiNodes.push(await startServer(env));

    // Now the web entry too; nginx re-reads its config on SIGHUP and opens the new port.
    writeFileSync(nginxConf, nginxConfig(dir, { s3Port, garage: garageNodes, webPort, cairn: apiNodes.map((n) => n.base) }));
    nginx.process.kill('SIGHUP');
    await listening(webPort, nginx, 'nginx');
    const base = `http://127.0.0.1:${webPort}`;
    await until(async () => (await fetch(`${base}/`)).ok, { timeout: 15_000, what: 'the web entry to serve the app' });

    // Browsers PUT and GET chunks through the S3 entry from every origin a page may have.
    const origins = [base, ...apiNodes.map((n) => n.base)];
    const cors = `<CORSConfiguration><CORSRule>${origins.map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`).join('')}`
      + '<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>'
      + '<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds>'
      + '</CORSRule></CORSConfiguration>';
    const r = await s3Request(s3, 'PUT', `/${s3.bucket}`, 'cors', cors);
    if (!r.ok) throw new Error(`PutBucketCors: ${r.status} ${await r.text()}`);

    return {
      base,
      databaseUrl,
      s3,
      dir,
      nodes: apiNodes.map((n) => ({
        base: n.base,
        stop: () => n.stop(),
        kill: () => n.kill(),
        /** The event streams open on this node (its `cairn_sse_clients` gauge). */
        async streams() {
          const m = await fetch(`${n.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
          if (!m.ok) throw new Error(`/metrics: ${m.status}`);
          const line = (await m.text()).match(/^cairn_sse_clients (\d+)$/m);
          if (!line) throw new Error('no cairn_sse_clients in /metrics');
          return Number(line[1]);
        },
      })),
      garage: {
        nodes: garageNodes.map((g) => ({ s3: g.s3, admin: g.admin, health: () => g.health() })),
        /** Kills Garage node `i` (as a crash: SIGKILL). */
        stopNode: (i) => garageNodes[i].proc.end('SIGKILL'),
      },
      nginxLog: join(dir, 'nginx.log'),
      stop,
    };
  } catch (e) {
    await stop().catch((e2) => process.stderr.write(`cluster cleanup after a failed start: ${e2}\n`));
    throw e;
  }
}

// As a script (`cargo xtask cluster`): start it, say where everything is, stop on Ctrl-C.
if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const cluster = await startCluster();
  const s = cluster.s3;
  process.stdout.write(`Cairn cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s

  load balancer (nginx)   ${cluster.base}
${cluster.nodes.map((n, i) => `  API node ${i + 1}              ${n.base}`).join('\n')}
  S3 entry (nginx)        ${s.endpoint}   bucket ${s.bucket}, region ${s.region}
${cluster.garage.nodes.map((g, i) => `  Garage node ${i + 1}           S3 ${g.s3}   admin ${g.admin}`).join('\n')}
  AWS_ACCESS_KEY_ID=${s.accessKey} AWS_SECRET_ACCESS_KEY=${s.secretKey}
  PostgreSQL              ${cluster.databaseUrl}
  files and logs          ${cluster.dir}

Open the load balancer, or a node's own address. Ctrl-C stops everything and drops the database.
`);
  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the cluster\n`);
    await cluster.stop();
    process.stdout.write('stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
