import { isIP } from "node:net";

/**
 * The client's IP: the socket's address, unless TRUST_PROXY is on, in which case
 * the last entry of X-Forwarded-For — the one our own proxy appended. Anything to
 * its left was written by the client and proves nothing, and so does `Forwarded`,
 * which is never read. A port on the entry (`1.2.3.4:5`, `[2001:db8::1]:5`) is
 * dropped, or every source port would count as a new client. When the last entry
 * is missing or not an address, the answer is the socket's address (the proxy's),
 * never a value the client wrote.
 *
 * `socketAddress` must be the TCP peer's address, not one read from a header.
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | null, trustProxy: boolean): string {
  if (trustProxy && forwardedFor) {
    const address = forwardedAddress(forwardedFor.split(",").at(-1)!.trim());
    if (address) return normalize(address);
  }
  return normalize(socketAddress ?? "unknown");
}

/** One X-Forwarded-For entry as a bare IP address (port and brackets removed), or null. */
export function forwardedAddress(entry: string): string | null {
  let address = entry;
  if (address.startsWith("[")) {
    // [v6] or [v6]:port
    const end = address.indexOf("]");
    if (end === -1) return null;
    const rest = address.slice(end + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return null;
    address = address.slice(1, end);
    return isIP(address) === 6 ? address : null;
  }
  // v4:port (a bare v6 address has more than one colon and no port)
  const colon = address.indexOf(":");
  if (colon !== -1 && colon === address.lastIndexOf(":")) {
    if (!/^\d{1,5}$/.test(address.slice(colon + 1))) return null;
    address = address.slice(0, colon);
    return isIP(address) === 4 ? address : null;
  }
  return isIP(address) === 0 ? null : address;
}

function normalize(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** Defined with the throttles that count under it (a domain module); re-exported for the HTTP layer. */
export { throttleKey } from "../security/rate-limit.server";
