import { createHash } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { DecodeError } from '../errors.ts';
import { objectChunks, objectStream } from '../events/subjects.ts';

/** How the object store names a digest: `SHA-256=` then the hash in padded base64url. */
const DIGEST_PREFIX = 'SHA-256=';

/**
 * The object `name` of `bucket` read chunk by chunk with direct gets, which any replica answers;
 * undefined when there is none (or it was deleted before its chunks were read). The library's
 * read makes an ephemeral consumer whose one replica a cluster may place on a node just lost:
 * such reads then time out for as long as the node is gone (a minute and more, measured). The
 * digest is checked, as the library's read checks it, unless the caller checks the bytes against
 * the same SHA-256 itself (`checkDigest: false`).
 */
export async function readObject(
  jsm: JetStreamManager,
  os: ObjectStore,
  bucket: string,
  name: string,
  checkDigest = true,
): Promise<Uint8Array | undefined> {
  const info = await os.info(name);
  if (!info || info.deleted) return undefined;
  const where = `${bucket}/${name}`;
  const chunks: Uint8Array[] = [];
  for (let seq = 0; chunks.length < info.chunks; ) {
    const m = await jsm.direct.getMessage(objectStream(bucket), {
      next_by_subj: objectChunks(bucket, info.nuid),
      seq: seq + 1,
    });
    if (!m) {
      // Deleted meanwhile (a superseded snapshot): as if it had not been found.
      const now = await os.info(name);
      if (!now || now.deleted || now.nuid !== info.nuid) return undefined;
      throw new DecodeError(`chunk ${chunks.length + 1} of ${info.chunks} is missing`, where);
    }
    chunks.push(m.data);
    seq = m.seq;
  }
  const bytes = chunks.length === 1 ? chunks[0]! : joined(chunks);
  if (!checkDigest) return bytes;
  const digest = `${DIGEST_PREFIX}${createHash('sha256').update(bytes).digest('base64url')}`;
  if (info.digest.replace(/=+$/, '') !== digest)
    throw new DecodeError(`its chunks have the digest ${digest}, not the ${info.digest} its entry names`, where);
  return bytes;
}

/** Chunks as one Uint8Array, the type every other read of the store gives (not a Buffer). */
function joined(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}
