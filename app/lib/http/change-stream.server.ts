import type { Session } from "../../../db/schema";
import type { Db } from "../db.server";
import type { ChangeHub } from "../live/changes.server";

/** A comment line this often keeps the connection from looking idle (the server drops sockets silent for 60 s). */
export const HEARTBEAT_MS = 20_000;
/** A stream lives at most this long; the browser then reconnects, which checks the session afresh. */
export const MAX_STREAM_MS = 60 * 60_000;

/** Whether the session still exists and has not expired (a read: the stream never renews a session). */
async function sessionAlive(db: Db, idHash: string, now = Date.now()): Promise<boolean> {
  const at = new Date(now).toISOString();
  const row = await db
    .selectFrom("sessions")
    .select("id_hash")
    .where("id_hash", "=", idHash)
    .where("idle_expires_at", ">", at)
    .where("absolute_expires_at", ">", at)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * A server-sent-events response that says `event: change` whenever the hub publishes.
 * While nothing changes it costs no database query: a heartbeat timer only. Before each
 * change is passed on, the session is checked again (a signed-out or revoked session's
 * stream ends); the stream also ends when the session would expire, at server shutdown
 * (`hub.close()`), and when the client goes away.
 */
export function changeStream(options: {
  db: Db;
  hub: ChangeHub;
  session: Session;
  signal: AbortSignal;
  now?: number;
  heartbeatMs?: number;
}): Response {
  const { db, hub, session, signal } = options;
  if (hub.size >= hub.capacity) {
    // Owner-only, but bounded all the same: the browser's EventSource retries after `retry`.
    return new Response("retry: 30000\n\n", { status: 503, headers: { "Retry-After": "30", "Cache-Control": "no-store" } });
  }
  const now = options.now ?? Date.now();
  const encoder = new TextEncoder();
  const lifetime = Math.min(
    MAX_STREAM_MS,
    Date.parse(session.idle_expires_at) - now,
    Date.parse(session.absolute_expires_at) - now,
  );
  let stop = () => undefined as void;

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      const send = (text: string) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop();
        }
      };
      const onChange = () => {
        void sessionAlive(db, session.id_hash).then(
          (alive) => (alive ? send("event: change\ndata: {}\n\n") : stop()),
          () => stop(),
        );
      };
      const unsubscribe = hub.subscribe(onChange);
      const heartbeat = setInterval(() => send(": keep-alive\n\n"), options.heartbeatMs ?? HEARTBEAT_MS);
      const expiry = setTimeout(() => stop(), Math.max(0, lifetime));
      const offClose = hub.onClose(() => stop());
      const onAbort = () => stop();
      signal.addEventListener("abort", onAbort);
      stop = () => {
        if (!open) return;
        open = false;
        unsubscribe();
        offClose();
        clearInterval(heartbeat);
        clearTimeout(expiry);
        signal.removeEventListener("abort", onAbort);
        try {
          controller.close();
        } catch {
          // already closed or errored
        }
      };
      // `retry`: how soon the browser reconnects after the stream ends.
      send("retry: 2000\n: live\n\n");
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    },
  });
}
