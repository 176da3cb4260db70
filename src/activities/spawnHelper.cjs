// The leaf spawner's helper process (spawner.ts forks it): a small plain
// Node process (no TypeScript loader: the smaller the process, the cheaper
// its forks) that starts leaf commands for the worker. Node's fork costs in
// proportion to the forking process's memory, and the worker holds hundreds
// of MB (workflow bundles, caches).
//
// It does only what the worker asks over IPC (TSpawnRequest, TSpawnReply in
// spawner.ts): spawn, stream output, report the end. It never kills (the
// worker signals process groups itself). It ignores SIGINT and SIGTERM, which
// reach the worker's whole process group: the worker decides when commands end
// (its shutdown grace). It exits when the worker goes (the IPC channel
// closes), and with it the commands' lifeline pipes, so each command's
// watchdog kills its group, as when the worker itself spawned it.
'use strict';
const { spawn } = require('node:child_process');
const { closeSync, openSync } = require('node:fs');

/** A process that left the group may hold our pipes open after the command ended: read them this long more. */
const PIPE_DRAIN_MS = 2000;

/**
 * A write to a worker that died (SIGKILL) fails with EPIPE before the channel
 * says it closed: with a callback, that failure is ours to handle, not an
 * 'error' event that would crash this process with a stack trace on the
 * worker's stderr. The worker is gone, so this process goes too, as it does on
 * 'disconnect'.
 */
function sent(err) {
  if (err) process.exit(0);
}

function send(message) {
  if (process.connected) process.send(message, sent);
}

function openExitFile(file) {
  if (!file) return undefined;
  try {
    return openSync(file, 'w', 0o600);
  } catch {
    return undefined;
  }
}

function start(req) {
  const exitFd = openExitFile(req.exitFile);
  // With an exit file asked for, the last argument says whether the launcher has one ('1') or not ('').
  const args = req.exitFile ? [...req.args.slice(0, -1), exitFd === undefined ? '' : '1'] : req.args;
  let child;
  try {
    child = spawn(req.file, args, {
      cwd: req.cwd,
      env: req.env,
      detached: true,
      ...(req.user ? { uid: req.user.uid, gid: req.user.gid } : {}),
      // stdin is the watchdog's lifeline: it is never written, only closed when this process dies.
      stdio: ['pipe', 'pipe', 'pipe', 'ignore', exitFd === undefined ? 'ignore' : exitFd],
    });
  } catch (err) {
    send({ op: 'error', id: req.id, message: err.message, code: err.code });
    return;
  } finally {
    if (exitFd !== undefined) closeSync(exitFd);
  }
  if (child.pid !== undefined) send({ op: 'spawned', id: req.id, pid: child.pid });
  // One chunk of a stream in flight at a time: the stream waits until the last one is written to the channel,
  // so a command printing faster than the worker reads is held back by its pipe, never buffered here.
  const forward = (stream, fd) =>
    stream.on('data', (data) => {
      if (!process.connected) return;
      stream.pause();
      process.send({ op: 'out', id: req.id, fd, data }, (err) => (err ? sent(err) : stream.resume()));
    });
  forward(child.stdout, 1);
  forward(child.stderr, 2);
  let drainTimer;
  child.once('exit', () => {
    // Its process group may be another's from now on: the worker stops signalling it.
    send({ op: 'exited', id: req.id });
    drainTimer = setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
    }, PIPE_DRAIN_MS);
  });
  child.once('error', (err) => send({ op: 'error', id: req.id, message: err.message, code: err.code }));
  child.once('close', (code, signal) => {
    clearTimeout(drainTimer);
    send({ op: 'exit', id: req.id, code, signal });
  });
}

process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('disconnect', () => process.exit(0));
process.on('message', start);
send({ op: 'ready' });
