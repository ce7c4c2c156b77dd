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

/**
 * The key per-client throttles (sign-in attempts) count under: an IPv4 address as
 * it is, an IPv6 address by its /64 network. One subscriber usually holds a whole
 * /64, so counting single IPv6 addresses would let one client rotate through
 * billions of them.
 */
export function throttleKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const address = ip.split("%")[0]!.toLowerCase();
  const halves = address.split("::");
  if (halves.length > 2) return ip;
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const width = (gs: string[]) => gs.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const all = halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - width(head) - width(tail))).fill("0"), ...tail] : head;
  const network = all.slice(0, 4);
  if (network.length < 4 || !network.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${network.map((g) => parseInt(g, 16).toString(16)).join(":")}::/64`;
}
