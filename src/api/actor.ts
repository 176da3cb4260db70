import type { Request } from 'express';
import { LOCAL_ACTOR, type TActor } from '../domain/actor';

export type { TActor };

/** Resolves the actor of a request: the local user until tokens arrive (see domain/actor.ts). */
export function localActor(_req: Request): TActor {
  return LOCAL_ACTOR;
}
