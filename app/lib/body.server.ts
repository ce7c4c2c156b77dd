/** Raised when a request body is larger than allowed; checked while reading, never after buffering it all. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
  constructor(readonly limit: number) {
    super(`Request body is larger than ${limit} bytes`);
  }
}

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * After a body passes the limit, up to this many more bytes (and this long) are
 * read and thrown away before answering 413 — a bounded "lingering close", as
 * nginx does — so a client still uploading gets to read the 413 instead of a
 * connection reset. Past these bounds the connection is simply dropped.
 */
const LINGER_BYTES = 8 * MAX_BODY_BYTES;
const LINGER_MS = 2_000;

/**
 * Reads a request body as UTF-8 text, refusing it as soon as it passes `limit`
 * bytes: first by its Content-Length, then by counting while it streams.
 * Nothing past the limit is kept.
 */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new BodyTooLargeError(limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await discardRest(reader);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  const deadline = Date.now() + LINGER_MS;
  let discarded = 0;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), LINGER_MS)));
  try {
    while (discarded <= LINGER_BYTES && Date.now() < deadline) {
      const next = await Promise.race([reader.read(), timeout]);
      if (next === "timeout" || next.done) break;
      discarded += next.value.byteLength;
    }
  } catch {
    // the client went away: nothing left to discard
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
}
