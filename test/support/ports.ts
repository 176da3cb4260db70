import net from 'node:net';
import { portInUse } from '../../src/dev/managedProcess';

export { freePort } from '../../src/dev/scratchServices';

/** True when nothing listens on the port. */
export async function portIsFree(port: number): Promise<boolean> {
  return !(await portInUse(port));
}

/**
 * A free port below Linux's ephemeral range (32768-60999), as npm start's
 * defaults are. For a server restarted on the port it had (Postgres,
 * Temporal): on one inside that range, a client reconnecting to the dead
 * server can be handed it as its own source port, connect to itself and hold
 * it against the restart. `taken` keeps one caller's ports distinct.
 */
export async function freeLowPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}
