/**
 * A tiny loopback TCP proxy for partition tests: it listens on 127.0.0.1 (a free port) and pipes
 * every accepted socket to `target`. `cut()` destroys every live pair and refuses (resets) new
 * connections until `heal()`. Bytes are not inspected or changed.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly live = new Set<Socket>();
  private isCut = false;
  /** Connections accepted and forwarded so far. */
  forwarded = 0;
  /** Connections refused while cut. */
  refused = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetPort: number,
  ) {}

  /** Listen on a free 127.0.0.1 port (none of `avoid`) and forward to 127.0.0.1:targetPort. */
  static async start(targetPort: number, avoid: ReadonlySet<number> = new Set()): Promise<TcpProxy> {
    // An ephemeral port can be one the testnet chose for a node that has not started yet (it was
    // free when chosen, not reserved): that node would then fail with EADDRINUSE. A server on such
    // a port is kept open until a good one is drawn, so the next draw cannot return it again.
    const drawnAgain: Server[] = [];
    try {
      for (;;) {
        let proxy: TcpProxy | null = null;
        const server = createServer({ pauseOnConnect: true }, (s) => proxy!.accept(s));
        const port = await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const a = server.address();
            resolve(typeof a === 'object' && a !== null ? a.port : 0);
          });
        });
        if (avoid.has(port)) {
          drawnAgain.push(server);
          continue;
        }
        proxy = new TcpProxy(server, port, targetPort);
        return proxy;
      }
    } finally {
      for (const s of drawnAgain) s.close();
    }
  }

  /** The proxy's listen multiaddr. */
  get multiaddr(): string {
    return `/ip4/127.0.0.1/tcp/${this.port}`;
  }

  /** Drop every live connection and refuse new ones. */
  cut(): void {
    this.isCut = true;
    for (const s of this.live) s.destroy();
    this.live.clear();
  }

  /** Forward again. */
  heal(): void {
    this.isCut = false;
  }

  /** Stop listening and drop everything. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(client: Socket): void {
    if (this.isCut) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.forwarded++;
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    this.live.add(client);
    this.live.add(upstream);
    const drop = (): void => {
      this.live.delete(client);
      this.live.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}
