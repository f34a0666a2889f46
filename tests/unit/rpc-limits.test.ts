/**
 * The RPC server's limits over real sockets: body size (413), slow clients (headers, body, idle),
 * long handlers, pipelining, header size, connection cap; TLS; and shutdown.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, rpc, startHarness, testMethods, type Harness } from './rpc-harness.js';

const call = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', method, params, id });

describe('rpc limits and timeouts', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      limits: { maxBodyBytes: 1024, headersTimeoutMs: 300, requestTimeoutMs: 600, idleTimeoutMs: 400, maxConnections: 20 },
    });
  });
  afterAll(() => h.close());

  it('a declared Content-Length over the limit → 413 before the body is read', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: h.port, method: 'POST', path: '/', agent: false,
        headers: { Authorization: `Bearer ${h.keys.read}`, 'Content-Length': String(10 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"jsonrpc":"2.0",'); // never finishes: the server must answer without waiting for it
    });
    expect(r).toBe(413);
  });

  it('a chunked body growing over the limit → 413', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: h.port, method: 'POST', path: '/', agent: false,
        headers: { Authorization: `Bearer ${h.keys.read}`, 'Transfer-Encoding': 'chunked' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(`{"jsonrpc":"2.0","method":"echo","params":["${'a'.repeat(2000)}`);
    });
    expect(r).toBe(413);
  });

  it('a body just under the limit is served', async () => {
    const body = JSON.stringify(call('echo', ['x'.repeat(900)]));
    expect(body.length).toBeLessThan(1024);
    expect((await rpc(h.port, h.keys.read, body)).status).toBe(200);
  });

  /** Opens a raw socket, runs `drive`, and resolves with what arrived when the server closed it. */
  function untilClosed(drive: (s: net.Socket) => void): Promise<{ ms: number; data: string }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const s = net.connect(h.port, '127.0.0.1');
      let data = '';
      s.on('data', (d) => (data += d.toString('latin1')));
      s.on('error', () => {}); // a reset is a close too
      s.on('close', () => resolve({ ms: Date.now() - started, data }));
      s.on('connect', () => drive(s));
      setTimeout(() => reject(new Error('server kept a slow socket open')), 10_000).unref();
    });
  }

  it('slowloris: headers sent byte by byte are cut off by headersTimeout', async () => {
    const head = `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.keys.read}\r\nX-Pad: ${'a'.repeat(500)}\r\n\r\n`;
    let i = 0;
    const r = await untilClosed((s) => {
      const t = setInterval(() => {
        if (s.destroyed || i >= head.length) return clearInterval(t);
        s.write(head[i++]!);
      }, 20);
      s.on('close', () => clearInterval(t));
    });
    expect(i).toBeLessThan(head.length);
    expect(r.ms).toBeLessThan(3000);
    expect(r.data === '' || r.data.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('a connection that sends nothing is closed', async () => {
    const r = await untilClosed(() => {});
    expect(r.ms).toBeLessThan(3000);
  });

  it('a body trickled after complete headers is cut off by requestTimeout', async () => {
    const body = JSON.stringify(call('echo', ['y'.repeat(500)]));
    let i = 0;
    const r = await untilClosed((s) => {
      s.write(`POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.keys.read}\r\nContent-Length: ${body.length}\r\n\r\n`);
      const t = setInterval(() => {
        if (s.destroyed || i >= body.length) return clearInterval(t);
        s.write(body[i++]!);
      }, 20);
      s.on('close', () => clearInterval(t));
    });
    expect(i).toBeLessThan(body.length);
    expect(r.ms).toBeLessThan(3000);
    expect(r.data).not.toContain('"result"');
  });

  it('a handler working longer than the idle timeout still answers', async () => {
    const r = await rpc(h.port, h.keys.read, call('slow', [700]));
    expect(r.status).toBe(200);
    expect(r.json.result).toBe('done');
  });

  it('oversized headers → 431', async () => {
    const r = await request(h.port, { key: h.keys.read, body: call('echo'), headers: { 'X-Big': 'b'.repeat(20_000) } });
    expect(r.status).toBe(431);
  });
});

describe('rpc connection cap', () => {
  it('connections beyond maxConnections are closed at once', async () => {
    const h = await startHarness({ limits: { maxConnections: 2 } });
    try {
      const open = await Promise.all(
        [0, 1].map(
          () => new Promise<net.Socket>((resolve) => {
            const s = net.connect(h.port, '127.0.0.1', () => resolve(s));
          }),
        ),
      );
      // the server counts a connection once it accepted it: make sure both were served a byte
      const third = await new Promise<string>((resolve) => {
        const s = net.connect(h.port, '127.0.0.1');
        s.on('error', () => resolve('reset'));
        s.on('close', () => resolve('closed'));
      });
      expect(['closed', 'reset']).toContain(third);
      for (const s of open) s.destroy();
    } finally {
      await h.close();
    }
  });
});

describe('rpc over TLS and shutdown', () => {
  it('serves JSON-RPC over https when tls is configured', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'timecoin-tls-'));
    try {
      const certFile = path.join(dir, 'cert.pem');
      const keyFile = path.join(dir, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
      const h = await startHarness({ server: { tls: { certFile, keyFile } } });
      try {
        const body = JSON.stringify(call('echo', ['tls']));
        const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = https.request(
            { host: '127.0.0.1', port: h.port, method: 'POST', path: '/', rejectUnauthorized: false, agent: false,
              headers: { Authorization: `Bearer ${h.keys.read}`, 'Content-Type': 'application/json' } },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
        expect(reply.status).toBe(200);
        expect(JSON.parse(reply.text).result).toBe('tls');
        // plain HTTP to the TLS port gets no JSON-RPC answer
        await expect(rpc(h.port, h.keys.read, call('echo', ['x']))).rejects.toThrow();
      } finally {
        await h.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close() aborts running handlers and stops accepting', async () => {
    let aborted = 0;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const h = await startHarness({
      methods: testMethods({ onStart: () => started(), onAbort: () => void aborted++ }),
      limits: { shutdownGraceMs: 2000 },
    });
    const pending = rpc(h.port, h.keys.read, call('slow', [30_000]));
    await running;
    const closing = h.close();
    const r = await pending;
    await closing;
    expect(r.json.result).toBe('aborted');
    expect(aborted).toBe(1);
    await expect(request(h.port, { method: 'GET', path: '/health' })).rejects.toThrow();
  });
});

describe('rpc pipelining', () => {
  it('a socket stays open while any of its pipelined requests is still being answered', async () => {
    const h = await startHarness({ limits: { idleTimeoutMs: 300, headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    try {
      const req = (ms: number, id: number): string => {
        const body = JSON.stringify(call('slow', [ms], id));
        return `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.keys.read}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      };
      const data = await new Promise<string>((resolve) => {
        const s = net.connect(h.port, '127.0.0.1', () => s.write(req(100, 1) + req(900, 2)));
        let got = '';
        s.on('data', (d) => {
          got += d.toString();
          if (got.includes('"id":2')) s.end();
        });
        s.on('error', () => {});
        s.on('close', () => resolve(got));
      });
      expect(data).toContain('"result":"done","id":1');
      expect(data).toContain('"result":"done","id":2');
    } finally {
      await h.close();
    }
  });
});
