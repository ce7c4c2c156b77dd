import type { CommandHandler } from "./cli";

/** `token create|list|revoke`: filled in with the API tokens module. */
export const tokenCommands: Record<string, CommandHandler> = {};
