import { describe, expect, it } from "vitest";
import { clientIp, throttleKey } from "../../app/lib/http/client-ip.server";

describe("the client IP", () => {
  it("is the socket address, whatever X-Forwarded-For says, unless TRUST_PROXY is on", () => {
    expect(clientIp("203.0.113.9", "198.51.100.1", false)).toBe("203.0.113.9");
  });

  it("is the last X-Forwarded-For entry (the one our proxy added) with TRUST_PROXY", () => {
    expect(clientIp("10.0.0.1", "1.2.3.4, 198.51.100.7", true)).toBe("198.51.100.7");
    expect(clientIp("10.0.0.1", "2001:db8::1", true)).toBe("2001:db8::1");
  });

  it("drops the port of the proxy's entry, so each source port is not a new client", () => {
    expect(clientIp("10.0.0.1", "198.51.100.7:51234", true)).toBe("198.51.100.7");
    expect(clientIp("10.0.0.1", "spoofed, 198.51.100.7:1", true)).toBe("198.51.100.7");
    expect(clientIp("10.0.0.1", "[2001:db8::1]:443", true)).toBe("2001:db8::1");
    expect(clientIp("10.0.0.1", "[2001:db8::1]", true)).toBe("2001:db8::1");
    expect(clientIp("10.0.0.1", "::ffff:198.51.100.7", true)).toBe("198.51.100.7");
  });

  it("never uses a client-written entry: a bad last entry means the socket's address, not the one before it", () => {
    expect(clientIp("10.0.0.1", "198.51.100.50, unknown", true)).toBe("10.0.0.1");
    expect(clientIp("10.0.0.1", "198.51.100.50, _hidden", true)).toBe("10.0.0.1");
    expect(clientIp("10.0.0.1", "198.51.100.50, ", true)).toBe("10.0.0.1");
    expect(clientIp("10.0.0.1", "198.51.100.50,", true)).toBe("10.0.0.1");
    for (const bad of [
      "1.2.3.4:",
      "1.2.3.4:x",
      "1.2.3.4:123456",
      "[2001:db8::1",
      "[2001:db8::1]x",
      "[1.2.3.4]:5",
      "1.2.3",
      "::::::::::",
      "1.2.3.4.5",
      "2001:db8::1:80:",
    ]) {
      expect(clientIp("10.0.0.1", `198.51.100.50, ${bad}`, true), bad).toBe("10.0.0.1");
    }
  });

  it("falls back to the socket when the forwarded value is missing or not an address", () => {
    expect(clientIp("10.0.0.1", null, true)).toBe("10.0.0.1");
    expect(clientIp("10.0.0.1", "1.2.3.4, <script>", true)).toBe("10.0.0.1");
    expect(clientIp("10.0.0.1", " , ", true)).toBe("10.0.0.1");
  });

  it("shows IPv4-mapped IPv6 socket addresses as plain IPv4", () => {
    expect(clientIp("::ffff:127.0.0.1", null, false)).toBe("127.0.0.1");
    expect(clientIp(undefined, null, false)).toBe("unknown");
  });
});

describe("the throttle key", () => {
  it("is an IPv4 address itself", () => {
    expect(throttleKey("203.0.113.9")).toBe("203.0.113.9");
  });

  it("is the /64 network of an IPv6 address, so rotating within it does not reset the count", () => {
    const a = throttleKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
    expect(a).toBe("2001:db8:1:2::/64");
    expect(throttleKey("2001:0db8:0001:0002::1")).toBe(a);
    expect(throttleKey("2001:db8:1:2::ffff:1.2.3.4")).toBe(a);
    expect(throttleKey("2001:db8:1:3::1")).not.toBe(a);
    expect(throttleKey("::1")).toBe("0:0:0:0::/64");
    expect(throttleKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  it("leaves anything unparsable as it is", () => {
    expect(throttleKey("unknown")).toBe("unknown");
    expect(throttleKey("1::2::3")).toBe("1::2::3");
  });
});
