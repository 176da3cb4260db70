import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../domain/searchAttributes';

/**
 * Registers our search attributes on the namespace where missing (an external
 * Temporal; the dev server gets them at start). Idempotent; returns the names
 * it added. A name registered with another type is an error to fix by hand.
 */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<string[]> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const existing = customAttributes ?? {};
    const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
    for (const sa of SEARCH_ATTRIBUTES) {
      const want = INDEXED_TYPE[sa.type];
      if (want === undefined) throw new Error(`no Temporal index type for search attribute type ${sa.type}`);
      const have = existing[sa.name];
      if (have === undefined || have === null) missing[sa.name] = want;
      else if (have !== want) {
        throw new Error(
          `search attribute ${sa.name} exists on namespace ${namespace} with another type (${temporal.api.enums.v1.IndexedValueType[have]}); Reprise needs ${sa.type}`,
        );
      }
    }
    if (Object.keys(missing).length) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    }
    return Object.keys(missing);
  } finally {
    await connection.close();
  }
}

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};
