/**
 * Node.js 24 is the runtime (contract §1). npm's devEngines refuse an older Node.js for
 * `npm ci` / `npm start`; every entry that does not go through npm checks for itself and
 * stops with one line naming the version found and the version needed.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nodeVersionProblem, REQUIRED_NODE_MAJOR } from "../../scripts/node-version.mjs";
import { ROOT, tempDir, testEnv } from "../support/server";

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** An older Node.js on this machine (CI machines keep theirs; .ci/node.sh only puts 24 first on PATH). */
function findOlderNode(): { node: string; version: string } | null {
  const candidates = new Set(["/usr/bin/node", "/usr/local/bin/node"]);
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) if (dir) candidates.add(path.join(dir, "node"));
  for (const node of candidates) {
    if (!fs.existsSync(node)) continue;
    const out = spawnSync(node, ["-p", "process.versions.node"], { encoding: "utf8" });
    const version = out.stdout?.trim() ?? "";
    if (out.status === 0 && Number.parseInt(version, 10) < REQUIRED_NODE_MAJOR) return { node, version };
  }
  return null;
}
const older = findOlderNode();

describe("the Node.js version check", () => {
  it("refuses every version below 24 with one line naming what it found and what it needs", () => {
    for (const found of ["20.20.2", "22.18.0", "23.11.1", "18.0.0"]) {
      const line = nodeVersionProblem({ node: found }, "/opt/node/bin/node");
      expect(line).toContain(`this is Node.js ${found} (/opt/node/bin/node)`);
      expect(line).toContain("needs Node.js 24 or newer");
      expect(line).not.toContain("\n");
    }
    for (const ok of ["24.0.0", "24.22.3", "25.1.0", "26.12.1"]) expect(nodeVersionProblem({ node: ok }, "/x")).toBeNull();
  });

  it("asks for the same major version everywhere the project names it", () => {
    const pkg = JSON.parse(read("package.json")) as {
      engines: { node: string };
      devEngines: { runtime: { name: string; version: string; onFail: string } };
    };
    expect(REQUIRED_NODE_MAJOR).toBe(24);
    expect(pkg.engines.node).toBe(`>=${REQUIRED_NODE_MAJOR}`);
    expect(pkg.devEngines.runtime).toEqual({ name: "node", version: `>=${REQUIRED_NODE_MAJOR}`, onFail: "error" });
    expect(read(".node-version").trim()).toBe(String(REQUIRED_NODE_MAJOR));
    expect(read(".nvmrc").trim()).toBe(String(REQUIRED_NODE_MAJOR));
    // The tests themselves run on it.
    expect(Number.parseInt(process.versions.node, 10)).toBeGreaterThanOrEqual(REQUIRED_NODE_MAJOR);
  });

  describe.runIf(older)(`under this machine's older Node.js (${older?.version ?? "none"})`, () => {
    const entries: [string, string[]][] = [
      ["the built server (node build/node/server.js)", ["build/node/server.js"]],
      ["npm start's script (node scripts/start.mjs)", ["scripts/start.mjs"]],
      ["the admin CLI (bin/preqstation.mjs)", ["bin/preqstation.mjs", "token", "list"]],
    ];
    for (const [what, args] of entries) {
      it(`${what} stops with exit 1 and one line, before touching anything`, () => {
        const dir = tempDir();
        const dbPath = path.join(dir, "preqstation.db");
        const out = spawnSync(older!.node, args, { cwd: ROOT, env: testEnv(dbPath), encoding: "utf8", timeout: 20_000 });
        expect(out.status).toBe(1);
        expect(out.stdout).toBe("");
        expect(out.stderr).toBe(
          `PreqStation needs Node.js 24 or newer; this is Node.js ${older!.version} (${older!.node}). ` +
            "Install Node.js 24 LTS (see .node-version), or run the single executable, which carries its own.\n",
        );
        expect(fs.readdirSync(dir)).toEqual([]);
      });
    }

    it("npm itself refuses npm start and npm ci with its own error (devEngines)", () => {
      const npmCli = fs.realpathSync(spawnSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).stdout.trim());
      for (const args of [["start"], ["ci", "--dry-run"]]) {
        const out = spawnSync(older!.node, [npmCli, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
        expect(out.status).not.toBe(0);
        expect(out.stdout + out.stderr).toContain("EBADDEVENGINES");
        expect(out.stdout + out.stderr).toContain(`does not match "v${older!.version}"`);
      }
    });
  });
});
