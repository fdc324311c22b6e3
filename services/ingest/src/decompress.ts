/**
 * Request decompression (Content-Encoding: gzip or deflate), which OTLP exporters and the OpenTelemetry
 * Collector use by default. The body limit applies to the decompressed bytes (fastify counts what this
 * stream emits), so a small compressed body cannot expand past it.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { ingestError } from './errors.ts';

type DecodedStream = Readable & { receivedEncodedLength: number };

export async function decompress(
  request: FastifyRequest,
  _reply: unknown,
  payload: Readable,
): Promise<Readable> {
  const header = request.headers['content-encoding'];
  const encoding = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return payload;
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : null;
  if (decoder === null)
    throw ingestError(
      'TG_INGEST_UNSUPPORTED_ENCODING',
      `Content-Encoding ${encoding} is not supported; send gzip, deflate or identity`,
    );
  const decoded = decoder as unknown as DecodedStream;
  // fastify compares the Content-Length header with the bytes that arrived on the wire, not the decoded ones.
  decoded.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    decoded.receivedEncodedLength += chunk.length;
  });
  pipeline(payload, decoder, () => {
    // Errors (a corrupt stream) reach fastify through the decoder's 'error' event.
  });
  return decoded;
}

/** zlib's error codes for input that is not what Content-Encoding said. */
export function isDecompressionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'ERR_ZLIB_INITIALIZATION_FAILED';
}
