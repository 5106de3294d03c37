import { ContentMismatchError } from '../errors.ts';
import type { ContentStore } from '../events/bus.ts';
import { contentHash } from './work-tree.ts';

/**
 * The content stored under `hash` for `path`, checked against its name: the store is written by
 * other processes, so a content that does not hash to its name is refused, never shown or written.
 */
export async function storedContent(store: ContentStore, hash: string, path: string): Promise<Uint8Array | undefined> {
  const bytes = await store.get(hash);
  if (bytes === undefined) return undefined;
  const actual = contentHash(bytes);
  if (actual !== hash) throw new ContentMismatchError(path, hash, actual);
  return bytes;
}
