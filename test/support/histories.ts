import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { waitFor } from './env';

/** True when `RECORD_HISTORIES=1`: tests then save the histories of their scenarios for the replay test. */
export const recordingHistories = process.env.RECORD_HISTORIES === '1';

/**
 * Saves the histories of closed workflows to test/histories as `<name>.binpb`
 * (binary protobuf: the SDK's JSON loader trips over npm's nested protobufjs
 * copies). test/integration/replay.test.ts replays every one on each run.
 */
export async function recordHistories(client: Client, histories: { name: string; workflowId: string }[]): Promise<void> {
  if (!recordingHistories) return;
  const dir = path.resolve(__dirname, '../histories');
  await mkdir(dir, { recursive: true });
  for (const { name, workflowId } of histories) {
    const handle = client.workflow.getHandle(workflowId);
    await waitFor(async () => ((await handle.describe()).status.name === 'RUNNING' ? undefined : true), `${workflowId} to close`);
    const history = await handle.fetchHistory();
    await writeFile(path.join(dir, `${name}.binpb`), temporal.api.history.v1.History.encode(history).finish());
  }
}

/** The patch ids a history's markers record (`patched()` calls that took the new path). */
export function patchesIn(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    // Core's patch marker: details["patch-data"] holds {"id": <patch>, "deprecated": <bool>} as JSON.
    const data = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });
}
