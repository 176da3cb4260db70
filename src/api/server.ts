import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { temporalUiLinkBase, type TConfig } from '../config';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logger';
import { createApp } from './app';

export interface TRunningApi {
  url: string;
  close(): Promise<void>;
}

/** Starts the HTTP API; `close()` stops accepting and ends open connections. */
export async function startApi(deps: { config: TConfig; prisma: PrismaClient; temporal: Client; logger: Logger; port?: number }): Promise<TRunningApi> {
  const { config } = deps;
  const { app } = createApp({
    prisma: deps.prisma,
    temporal: deps.temporal,
    logger: deps.logger,
    taskQueue: config.temporal.taskQueue,
    bodyLimit: config.api.bodyLimit,
    temporalUi: { baseUrl: temporalUiLinkBase(config), namespace: config.temporal.namespace },
    engine: config.engine,
    leafDefaultTimeoutS: config.leaf.defaultTimeoutS,
    scheduleCatchupWindow: config.schedules.catchupWindow,
    scheduleLimits: config.schedules.limits,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(deps.port ?? config.api.port, config.api.host, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? Object.assign(new Error(`API port ${config.api.port} is in use: set API_PORT to a free port`), { code: 'PORT_IN_USE' }) : err),
    );
  });
  // The server's own limits: a slow or idle client cannot hold a connection (or the process) forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 1000;
  const { port } = server.address() as AddressInfo;
  const host = config.api.host === '0.0.0.0' || config.api.host === '::' ? 'localhost' : config.api.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      }),
  };
}
