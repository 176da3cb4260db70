import net from 'node:net';

/**
 * A TCP proxy a test can take down and bring back: an outage of what is
 * behind it (Postgres) for one client only, without stopping the server the
 * other tests share. Down, it cuts every open connection and refuses new
 * ones (counted, so a test waits for retries instead of sleeping).
 */
export interface TTcpProxy {
  port: number;
  down(): void;
  up(): void;
  /** Connections refused while down. */
  refused(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TTcpProxy> {
  let isUp = true;
  let refused = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!isUp) {
      refused += 1;
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', close);
      s.on('close', close);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    down() {
      isUp = false;
      for (const s of open) s.destroy();
      open.clear();
    },
    up() {
      isUp = true;
    },
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
