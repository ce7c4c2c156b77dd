import type { Migration } from "kysely/migration";
import * as foundation from "./2026_11_27_2300_foundation";
import * as tokensAudit from "./2026_11_27_2310_tokens_audit";
import * as projectsTasks from "./2026_11_27_2320_projects_tasks";
import * as auditConsoleIndexes from "./2026_11_27_2340_audit_console_indexes";
import * as auditSignatures from "./2026_12_01_2200_audit_signatures";
import * as auditChannel from "./2026_12_01_2210_audit_channel";
import * as twoFactor from "./2026_12_01_2300_two_factor";
import * as totpEnrolmentSession from "./2026_12_07_2300_totp_enrolment_session";
import * as blockReason from "./2026_12_07_2310_block_reason";
import * as coordination from "./2026_12_07_2320_coordination";
import * as oauth from "./2026_12_07_2330_oauth";
import * as comments from "./2026_12_08_0100_comments";

/**
 * Every migration, by name. A static map (not a folder scan) so the migrations
 * are bundled into the server and CLI builds. Names sort in the order they run.
 */
export const migrations: Record<string, Migration> = {
  "2026_11_27_2300_foundation": foundation,
  "2026_11_27_2310_tokens_audit": tokensAudit,
  "2026_11_27_2320_projects_tasks": projectsTasks,
  "2026_11_27_2340_audit_console_indexes": auditConsoleIndexes,
  "2026_12_01_2200_audit_signatures": auditSignatures,
  "2026_12_01_2210_audit_channel": auditChannel,
  "2026_12_01_2300_two_factor": twoFactor,
  "2026_12_07_2300_totp_enrolment_session": totpEnrolmentSession,
  "2026_12_07_2310_block_reason": blockReason,
  "2026_12_07_2320_coordination": coordination,
  "2026_12_07_2330_oauth": oauth,
  "2026_12_08_0100_comments": comments,
};
