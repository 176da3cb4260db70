import net from 'node:net';
import { portInUse } from '../../src/dev/managedProcess';

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on the port. */
export async function portIsFree(port: number): Promise<boolean> {
  return !(await portInUse(port));
}
