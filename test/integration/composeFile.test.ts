import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SearchAttributeType } from '@temporalio/common';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { SEARCH_ATTRIBUTES } from '../../src/domain/searchAttributes';
import { TEMPORAL_DYNAMIC_CONFIG } from '../../src/dev/temporalDevServer';

/**
 * docker-compose.temporal.yml cannot run on our machines (no Docker engine),
 * so this keeps it honest against the code: the ports Reprise's defaults
 * expect, pinned official images, and the search attributes workflows write.
 */

const COMPOSE_FILE = path.resolve(__dirname, '../../docker-compose.temporal.yml');

interface TService {
  image?: string;
  ports?: (string | number | { target?: number | string; published?: number | string })[];
  entrypoint?: string | string[];
  command?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
}

const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as { services?: Record<string, TService> };
const services = compose.services ?? {};
const defaults = loadConfig({});

/** `{host, container}` for each published port, from compose's short ("[ip:]host:container") or long syntax. */
function publishedPorts(service: TService | undefined): { host: number; container: number }[] {
  return (service?.ports ?? []).flatMap((p) => {
    if (typeof p === 'object') {
      return p.published === undefined ? [] : [{ host: Number(p.published), container: Number(p.target) }];
    }
    const parts = String(p).replace(/\/(tcp|udp)$/, '').split(':');
    if (parts.length < 2) return [];
    return [{ host: Number(parts[parts.length - 2]), container: Number(parts[parts.length - 1]) }];
  });
}

function describePorts(name: string): string {
  return JSON.stringify(services[name]?.ports ?? null);
}

/** The names `temporal operator search-attribute create --type` takes. */
const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

describe('docker-compose.temporal.yml', () => {
  test('the Temporal frontend is on the host port of TEMPORAL_DEV_PORT', () => {
    const port = publishedPorts(services.temporal).find((p) => p.container === 7233);
    if (port?.host !== defaults.temporal.devPort) {
      throw new Error(
        `services.temporal must publish container port 7233 on host port ${defaults.temporal.devPort} ` +
          `(TEMPORAL_DEV_PORT's default, so TEMPORAL_ADDRESS=127.0.0.1:${defaults.temporal.devPort} reaches it); ports are ${describePorts('temporal')}`,
      );
    }
  });

  test('the Web UI is on the host port of TEMPORAL_UI_PORT', () => {
    const port = publishedPorts(services['temporal-ui']).find((p) => p.container === 8080);
    if (port?.host !== defaults.temporal.uiPort) {
      throw new Error(
        `services.temporal-ui must publish container port 8080 on host port ${defaults.temporal.uiPort} ` +
          `(TEMPORAL_UI_PORT's default); ports are ${describePorts('temporal-ui')}`,
      );
    }
  });

  test('every image is official and pinned to a tag', () => {
    const names = Object.keys(services);
    if (names.length === 0) throw new Error(`${COMPOSE_FILE} has no services`);
    const bad = names.flatMap((name) => {
      const image = services[name]?.image;
      if (!image) return [`${name}: no image`];
      const match = /^(temporalio\/[a-z0-9-]+|postgres):([A-Za-z0-9._-]+)$/.exec(image);
      if (!match) return [`${name}: "${image}" is not temporalio/<name>:<tag> or postgres:<tag>`];
      if (match[2] === 'latest') return [`${name}: "${image}" is not pinned (latest)`];
      return [];
    });
    if (bad.length) throw new Error(`images must come from temporalio/ or postgres, with a fixed tag:\n  ${bad.join('\n  ')}`);
  });

  test('the server gets the dynamic config the dev server gets', () => {
    const temporal = services.temporal;
    const target = `/etc/temporal/${temporal?.environment?.DYNAMIC_CONFIG_FILE_PATH}`;
    const mount = (temporal?.volumes ?? []).map((v) => v.split(':')).find(([, inContainer]) => inContainer === target);
    if (!mount) throw new Error(`services.temporal must mount a file at ${target} (its DYNAMIC_CONFIG_FILE_PATH); volumes are ${JSON.stringify(temporal?.volumes ?? null)}`);
    const file = parse(readFileSync(path.resolve(path.dirname(COMPOSE_FILE), mount[0]!), 'utf8')) as Record<string, { value: unknown }[]>;
    const values = Object.fromEntries(Object.entries(file).map(([key, entries]) => [key, entries[0]?.value]));
    expect(values).toEqual(TEMPORAL_DYNAMIC_CONFIG);
  });

  test('every search attribute Reprise writes is registered with its type', () => {
    // Registration happens in a service's command: `Name=Type`, as the dev server's --search-attribute takes it.
    const commands = Object.values(services)
      .flatMap((s) => [s.entrypoint, s.command].flat())
      .filter((c): c is string => typeof c === 'string')
      .join('\n');
    const missing = SEARCH_ATTRIBUTES.map((sa) => `${sa.name}=${CLI_TYPE[sa.type]}`).filter(
      (pair) => !new RegExp(`(^|[^A-Za-z0-9_])${pair}([^A-Za-z0-9_]|$)`).test(commands),
    );
    if (missing.length) {
      throw new Error(`no service in ${path.basename(COMPOSE_FILE)} registers these search attributes: ${missing.join(', ')}`);
    }
  });
});
