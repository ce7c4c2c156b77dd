/**
 * One request at a time over one keep-alive connection, timed with
 * sub-millisecond precision (autocannon's histogram counts whole milliseconds,
 * too coarse to compare two ~1 ms medians). Also reads the server's own time
 * from its `Server-Timing: app;dur=…` header when present.
 */
import http from "node:http";
import { median, quantile, round } from "./stats";

export interface SequentialResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server-Timing app duration, when the server sends it. */
  serverP50: number | null;
  serverP99: number | null;
  non2xx: number;
  errors: number;
}

export async function runSequential(options: {
  url: string;
  path: string;
  headers?: Record<string, string>;
  durationSec: number;
}): Promise<SequentialResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(options.path, options.url);
  const latencies: number[] = [];
  const server: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + options.durationSec * 1000;
  try {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const { status, timing } = await new Promise<{ status: number; timing: string | undefined }>((resolve, reject) => {
          const req = http.request(target, { agent, headers: options.headers }, (res) => {
            res.on("data", () => undefined);
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, timing: res.headers["server-timing"] as string | undefined }),
            );
            res.on("error", reject);
          });
          req.on("error", reject);
          req.end();
        });
        latencies.push(performance.now() - t0);
        if (status < 200 || status > 299) non2xx += 1;
        const dur = timing ? /app;dur=([\d.]+)/.exec(timing)?.[1] : undefined;
        if (dur !== undefined) server.push(Number(dur));
      } catch {
        errors += 1;
      }
    }
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests: latencies.length,
    rps: round(latencies.length / elapsed),
    p50: round(median(latencies), 3),
    p99: round(quantile(latencies, 0.99), 3),
    serverP50: server.length ? round(median(server), 3) : null,
    serverP99: server.length ? round(quantile(server, 0.99), 3) : null,
    non2xx,
    errors,
  };
}
