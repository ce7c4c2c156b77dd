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
