import { auditSignerFromSeed } from "../../app/lib/audit/signing.server";

/**
 * A fixed audit signing key for tests that write audit entries without a server
 * (`AUDIT_SIGNING_KEY` in a CLI or server environment makes them share it).
 */
export const TEST_AUDIT_KEY = "dGVzdC1hdWRpdC1zaWduaW5nLWtleS0zMi1ieXRlcyE";
export const testAuditSigner = auditSignerFromSeed(Buffer.from(TEST_AUDIT_KEY, "base64url"));
