import { format } from "node:util";
import type { LogLevel } from "./env.server";
import { LOG_LEVELS } from "./env.server";

/** A structured logger writing one JSON object per line. Never pass it secrets. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const log = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }, errorReplacer)}\n`);
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/** The most of one console call kept in its log line. */
const CONSOLE_MESSAGE_LIMIT = 2_000;

/**
 * Sends everything written through `console` (Remix's and its router's own warnings
 * and errors, a library's stray line) to `logger` as one JSON line each, so no text
 * reaches the log outside the JSON format, and a request path a library echoes is
 * a quoted JSON string rather than a raw line of its own. Returns a function that
 * puts the original console methods back.
 */
export function routeConsoleToLogger(logger: Logger): () => void {
  const methods = ["debug", "log", "info", "warn", "error"] as const;
  const level = { debug: "debug", log: "info", info: "info", warn: "warn", error: "error" } as const;
  const saved = methods.map((m) => [m, console[m]] as const);
  for (const m of methods) {
    console[m] = (...args: unknown[]) => {
      const message = format(...args);
      logger[level[m]]("console", {
        source: "console",
        message: message.length > CONSOLE_MESSAGE_LIMIT ? `${message.slice(0, CONSOLE_MESSAGE_LIMIT)}…` : message,
      });
    };
  }
  return () => {
    for (const [m, fn] of saved) console[m] = fn;
  };
}
