import type { IncomingMessage, ServerResponse } from "node:http";

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

/**
 * Keeps a keep-alive connection usable after a response that was sent before its
 * request body was read to the end (a 413 on the declared length, a body refused
 * part-way, any early answer). The unread rest of the body sits on the connection
 * in front of the client's next request; Node pulls it off by itself only when no
 * one ever read from the request, so here it is read and thrown away once the
 * response has finished: at most `maxBytes` more, for at most `maxMs`. Within those
 * bounds the connection carries the next request as usual; past them it is closed.
 * Every listener and the timer end with the request (its body ended, or the
 * connection closed), so nothing of this outlives the request it was for.
 */
export function discardUnreadBodyAfterResponse(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes = LINGER_BYTES,
  maxMs = LINGER_MS,
): void {
  res.once("finish", () => {
    if (req.complete || req.destroyed) return;
    const socket = req.socket;
    let discarded = 0;
    const done = () => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", done);
      socket.off("close", done);
    };
    const cut = () => {
      done();
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      discarded += chunk.byteLength;
      if (discarded > maxBytes) cut();
    };
    const timer = setTimeout(cut, maxMs);
    // Whoever was reading the body has stopped; nothing keeps what follows.
    req.removeAllListeners("data");
    req.on("data", onData);
    req.once("end", done);
    socket.once("close", done);
    req.resume();
  });
}
