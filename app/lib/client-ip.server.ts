/**
 * The client's IP: the socket's address, unless TRUST_PROXY is on, in which case
 * the last entry of X-Forwarded-For (the one our own proxy appended; anything to
 * its left was written by the client and proves nothing).
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | null, trustProxy: boolean): string {
  if (trustProxy && forwardedFor) {
    const last = forwardedFor.split(",").map((s) => s.trim()).filter(Boolean).at(-1);
    if (last && /^[0-9A-Fa-f.:]{2,45}$/.test(last)) return normalize(last);
  }
  return normalize(socketAddress ?? "unknown");
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
