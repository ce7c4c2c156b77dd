/** A typed wrapper around autocannon's programmatic API (the package ships no types). */
import { createRequire } from "node:module";

export interface LoadRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSec: number;
  headers?: Record<string, string>;
  /** Called before every request to choose what to send (a fresh task id, a fresh body…). */
  next: () => LoadRequest;
}

export interface LoadResult {
  /** Mean requests per second over the run (2xx and others alike). */
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  "1xx": number;
  "2xx": number;
}

type Autocannon = (
  options: {
    url: string;
    connections: number;
    duration: number;
    headers?: Record<string, string>;
    requests: { setupRequest: (req: AutocannonRequest) => AutocannonRequest }[];
    timeout?: number;
  },
  callback: (error: Error | null, result: AutocannonResult) => void,
) => unknown;

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSec,
        headers: options.headers,
        timeout: 30,
        requests: [
          {
            setupRequest: (req) => {
              const r = options.next();
              return {
                ...req,
                method: r.method ?? "GET",
                path: r.path,
                headers: { ...req.headers, ...r.headers },
                body: r.body,
              };
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          max: result.latency.max,
          requests: result.requests.total,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
  });
}
