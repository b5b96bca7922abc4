import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { HttpServers, acceptsGzip, sendJson } from './http-server.js';
import { silentLogger } from './logger.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function openIdle(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

async function waitFor(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('HTTP server', () => {
  it('reads Accept-Encoding as Prometheus and curl send it', () => {
    assert.equal(acceptsGzip('gzip'), true);
    assert.equal(acceptsGzip('identity, gzip;q=0.5'), true);
    assert.equal(acceptsGzip('GZIP'), true);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('deflate, br'), false);
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip(''), false);
  });

  it('concurrent scrapes share one rendering; each later scrape renders afresh; gzip only when asked', async () => {
    const http = new HttpServers(silentLogger());
    try {
      const host = http.hostFor('test');
      let calls = 0;
      const gate: { release?: () => void } = {};
      host.metrics('127.0.0.1:0', '/metrics', async () => {
        calls++;
        await new Promise<void>((r) => (gate.release = r));
        return `# TYPE x counter\nx_total ${calls}\n${'# padding\n'.repeat(2000)}`;
      });
      const { port } = await host.listen('127.0.0.1:0');
      const asks = Array.from({ length: 20 }, (_, i) => get(port, '/metrics', i % 2 === 0 ? { 'accept-encoding': 'gzip' } : {}));
      await waitFor('the rendering to start', () => gate.release !== undefined);
      // Let every request reach the server while the one rendering is held open.
      await new Promise((r) => setTimeout(r, 200));
      gate.release?.();
      const replies = await Promise.all(asks);
      assert.equal(calls, 1, 'one rendering for 20 concurrent scrapes');
      for (const [i, r] of replies.entries()) {
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
        assert.equal(r.headers['vary'], 'Accept-Encoding');
        const text = i % 2 === 0 ? gunzipSync(r.body).toString() : r.body.toString();
        assert.equal(r.headers['content-encoding'], i % 2 === 0 ? 'gzip' : undefined);
        assert.match(text, /^x_total 1$/m);
        if (i % 2 === 0) assert.ok(r.body.length < text.length / 10, `gzip shrinks the padding (${r.body.length} of ${text.length})`);
      }
      gate.release = undefined;
      const later = get(port, '/metrics');
      await waitFor('the second rendering', () => gate.release !== undefined);
      (gate.release as (() => void) | undefined)?.();
      assert.match((await later).body.toString(), /^x_total 2$/m, 'a scrape after the last one finished renders again');
    } finally {
      await http.close();
    }
  });

  it('streams chunked sources in order, each source ending with a line break, plain and gzipped alike', async () => {
    const http = new HttpServers(silentLogger());
    try {
      const host = http.hostFor('test');
      host.metrics('127.0.0.1:0', '/metrics', () =>
        (async function* () {
          yield Buffer.from('# TYPE a gauge\na 1\n');
          await new Promise<void>((r) => setImmediate(r));
          yield new Uint8Array(0);
          yield new TextEncoder().encode('b{x="—"} 2');
        })(),
      );
      host.metrics('127.0.0.1:0', '/metrics', async () => 'c 3');
      const { port } = await host.listen('127.0.0.1:0');
      const want = '# TYPE a gauge\na 1\nb{x="—"} 2\nc 3\n';
      const plain = await get(port, '/metrics');
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['transfer-encoding'], 'chunked');
      assert.equal(plain.body.toString('utf8'), want);
      const zipped = await get(port, '/metrics', { 'accept-encoding': 'gzip' });
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(zipped.body).toString('utf8'), want);
      const head = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/metrics', method: 'HEAD', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(head, 200);
    } finally {
      await http.close();
    }
  });

  it('a source failing before its first byte gets a 500; failing mid-body closes the connection, never a short 200', async () => {
    const http = new HttpServers(silentLogger());
    try {
      const host = http.hostFor('test');
      host.metrics('127.0.0.1:0', '/early', async () => {
        throw new Error('boom');
      });
      host.metrics('127.0.0.1:0', '/late', () =>
        (async function* () {
          yield Buffer.from('a 1\n'.repeat(10_000));
          await new Promise<void>((r) => setTimeout(r, 50));
          throw new Error('boom');
        })(),
      );
      const { port } = await host.listen('127.0.0.1:0');
      assert.equal((await get(port, '/early')).status, 500);
      await assert.rejects(get(port, '/late'), 'the client sees the body cut, not a complete scrape');
      await assert.rejects(get(port, '/late', { 'accept-encoding': 'gzip' }));
      assert.equal((await get(port, '/early')).status, 500, 'the server still answers');
    } finally {
      await http.close();
    }
  });

  it('a plain scrape after a gzip-only rendering dropped its plain chunks starts a rendering of its own; both bodies are whole', async () => {
    const http = new HttpServers(silentLogger());
    try {
      const host = http.hostFor('test');
      let calls = 0;
      const gates: (() => void)[] = [];
      host.metrics('127.0.0.1:0', '/metrics', () => {
        const n = ++calls;
        return (async function* () {
          yield Buffer.from(`first ${n}\n`);
          await new Promise<void>((r) => gates.push(r));
          yield Buffer.from(`second ${n}\n`);
        })();
      });
      const { port } = await host.listen('127.0.0.1:0');
      const zipped = get(port, '/metrics', { 'accept-encoding': 'gzip' });
      await waitFor('the gzip rendering to pass its first chunk', () => gates.length === 1);
      const plain = get(port, '/metrics');
      await waitFor('a second rendering for the plain scrape', () => gates.length === 2);
      for (const g of gates) g();
      assert.equal(gunzipSync((await zipped).body).toString(), 'first 1\nsecond 1\n');
      assert.equal((await plain).body.toString(), 'first 2\nsecond 2\n');
      assert.equal(calls, 2);
    } finally {
      await http.close();
    }
  });

  it('caps connections: idle ones make room for new ones, so /health still answers behind 50 idle sockets', async () => {
    const http = new HttpServers(silentLogger(), { maxConnections: 8 });
    const sockets: Socket[] = [];
    try {
      const host = http.hostFor('test');
      host.route('127.0.0.1:0', '/health', (_req, res) => sendJson(res, 200, { status: 'ok' }));
      const { port } = await host.listen('127.0.0.1:0');
      for (let i = 0; i < 50; i++) {
        const s = await openIdle(port);
        s.on('error', () => undefined);
        sockets.push(s);
      }
      await waitFor('the server to see the sockets', () => http.connections('127.0.0.1:0') === 8);
      const r = await get(port, '/health');
      assert.equal(r.status, 200);
      assert.ok(http.connections('127.0.0.1:0') <= 8, `${http.connections('127.0.0.1:0')} connections`);
      await waitFor('evicted sockets to see the close', () => sockets.filter((s) => s.destroyed || s.readableEnded).length >= 42);
    } finally {
      for (const s of sockets) s.destroy();
      await http.close();
    }
  });

  it('closes a connection that stays silent past idleTimeoutMs', async () => {
    const http = new HttpServers(silentLogger(), { idleTimeoutMs: 300 });
    try {
      const host = http.hostFor('test');
      host.route('127.0.0.1:0', '/health', (_req, res) => sendJson(res, 200, { status: 'ok' }));
      const { port } = await host.listen('127.0.0.1:0');
      const s = await openIdle(port);
      let closed = false;
      s.on('close', () => (closed = true));
      s.on('error', () => undefined);
      s.resume();
      await waitFor('the idle socket to be closed', () => closed, 10_000);
      assert.equal(http.connections('127.0.0.1:0'), 0);
    } finally {
      await http.close();
    }
  });
});
