/**
 * The slow-disk mode (`--fsync-delay MS`): a tiny LD_PRELOAD library, compiled here at
 * run time with the machine's C compiler, that makes every fsync() and fdatasync() of a
 * process take MS milliseconds longer (the real call first, then a sleep). Given to the
 * PreqStation server and to the bare baseline alike, it turns this machine's cheap
 * fsync into the 0.5–5 ms of a cloud volume or a consumer SSD, so what a commit costs
 * there becomes visible here. SQLite (statically linked into better-sqlite3's addon)
 * and Node both reach fsync/fdatasync through libc, where the preloaded symbols win.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

static struct timespec delay;
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

__attribute__((constructor)) static void init(void) {
  const char *us = getenv("PREQ_FSYNC_DELAY_US");
  long n = us ? atol(us) : 0;
  delay.tv_sec = n / 1000000;
  delay.tv_nsec = (n % 1000000) * 1000;
  real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
}

static void slow_down(void) {
  struct timespec left = delay;
  while (nanosleep(&left, &left) == -1 && errno == EINTR) {}
}

int fsync(int fd) {
  int rc = real_fsync(fd);
  slow_down();
  return rc;
}

int fdatasync(int fd) {
  int rc = real_fdatasync(fd);
  slow_down();
  return rc;
}
`;

export type FsyncDelay =
  { ok: true; env: Record<string, string>; library: string; measuredMsPerSync: number } | { ok: false; reason: string };

/**
 * Compiles the shim into `dir` and checks that it works: a child Node process with it
 * preloaded times 20 fsyncs and 20 fdatasyncs, which must take at least `delayMs` each.
 */
export function prepareFsyncDelay(dir: string, delayMs: number): FsyncDelay {
  const cc = process.env.CC ?? "cc";
  const probe = spawnSync(cc, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    return {
      ok: false,
      reason: `no C compiler (${cc}) on this machine: the slow-disk mode needs one to build its LD_PRELOAD shim`,
    };
  }
  const source = path.join(dir, "fsync-delay.c");
  const library = path.join(dir, "fsync-delay.so");
  fs.writeFileSync(source, SOURCE);
  const built = spawnSync(cc, ["-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"], { encoding: "utf8" });
  if (built.status !== 0) return { ok: false, reason: `${cc} could not build the shim: ${built.stderr.trim()}` };
  const env = { LD_PRELOAD: library, PREQ_FSYNC_DELAY_US: String(Math.round(delayMs * 1000)) };
  const check = spawnSync(
    process.execPath,
    [
      "-e",
      `const fs = require("node:fs"); const f = ${JSON.stringify(path.join(dir, "probe"))}; const fd = fs.openSync(f, "w");
       const t = performance.now(); for (let i = 0; i < 20; i++) { fs.writeSync(fd, "x"); fs.fsyncSync(fd); fs.fdatasyncSync(fd); }
       process.stdout.write(String((performance.now() - t) / 40)); fs.closeSync(fd);`,
    ],
    { encoding: "utf8", env: { ...process.env, ...env } },
  );
  const measured = Number(check.stdout);
  if (check.status !== 0 || !Number.isFinite(measured))
    return { ok: false, reason: `the shim did not load: ${check.stderr.trim()}` };
  if (measured < delayMs) {
    return {
      ok: false,
      reason: `the shim loaded but an fsync took ${measured.toFixed(2)} ms, less than the ${delayMs} ms asked for`,
    };
  }
  return { ok: true, env, library, measuredMsPerSync: measured };
}
