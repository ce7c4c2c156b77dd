// Builds dist/preqstation when anything that goes into it changed (a no-op in about a second otherwise).
export default async function setup() {
  const { packageExecutable } = await import("../../scripts/package.mjs");
  await packageExecutable();
}
