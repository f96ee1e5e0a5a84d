import assert from "node:assert/strict";
import {
  BpfProgram,
  dltFromLinkType,
  findAllDevices,
  type Libpcap,
  linkTypeFromDlt,
  LiveCaptureError,
  loadLibpcap,
  PcapHandle,
  ReadinessWaiter,
} from "./libpcap.ts";
import { LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW } from "./link_types.ts";

/** The library, or why it cannot be used here (these tests need libpcap, not root). */
function tryLoad(): { lib: Libpcap | null; why: string } {
  try {
    return { lib: loadLibpcap(), why: "" };
  } catch (error) {
    return { lib: null, why: error instanceof Error ? error.message : String(error) };
  }
}

/** Whether this process may capture (root, or CAP_NET_RAW): activating `lo` succeeds. */
function mayCapture(lib: Libpcap | null): boolean {
  if (!lib) return false;
  try {
    const handle = PcapHandle.create("lo", lib);
    try {
      handle.activate();
      return true;
    } finally {
      handle.close();
    }
  } catch {
    return false;
  }
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

const { lib, why } = tryLoad();
if (!lib) console.log(`libpcap_test: skipping the libpcap tests: ${why}`);
const canCapture = mayCapture(lib);
if (lib && !canCapture) {
  console.log("libpcap_test: this process may not capture; skipping the activation tests");
}

// --- Hand-built packets: only the fields a BPF filter reads are filled in. ---

function ethernet(etherType: number, payload: Uint8Array, vlanIds: number[] = []): Uint8Array {
  const out = new Uint8Array(14 + 4 * vlanIds.length + payload.length);
  const v = new DataView(out.buffer);
  out.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  let p = 12;
  for (const id of vlanIds) {
    v.setUint16(p, 0x8100);
    v.setUint16(p + 2, id);
    p += 4;
  }
  v.setUint16(p, etherType);
  out.set(payload, p + 2);
  return out;
}

function ipv4(
  protocol: number,
  payload: Uint8Array,
  fragment: { offset8: number; more: boolean } = { offset8: 0, more: false },
): Uint8Array {
  const out = new Uint8Array(20 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, 0x45);
  v.setUint16(2, out.length);
  v.setUint16(4, 0x1234);
  v.setUint16(6, (fragment.more ? 0x2000 : 0) | fragment.offset8);
  v.setUint8(8, 64);
  v.setUint8(9, protocol);
  out.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  out.set(payload, 20);
  return out;
}

function ipv6(nextHeader: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(40 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x60000000);
  v.setUint16(4, payload.length);
  v.setUint8(6, nextHeader);
  v.setUint8(7, 64);
  out[23] = 1;
  out[39] = 2;
  out.set(payload, 40);
  return out;
}

function ipv6Fragment(nextHeader: number, offset8: number, more: boolean, data: Uint8Array) {
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, nextHeader);
  v.setUint16(2, (offset8 << 3) | (more ? 1 : 0));
  v.setUint32(4, 0xabcdef);
  out.set(data, 8);
  return out;
}

function udp(src: number, dst: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, src);
  v.setUint16(2, dst);
  v.setUint16(4, out.length);
  out.set(payload, 8);
  return out;
}

const SIP = new TextEncoder().encode("INVITE sip:1002@example.com SIP/2.0\r\n\r\n");

Deno.test("linkTypeFromDlt maps the DLT numbers that differ from LINKTYPE numbers", () => {
  assert.equal(linkTypeFromDlt(12, "linux"), LINKTYPE_RAW);
  assert.equal(linkTypeFromDlt(14, "openbsd"), LINKTYPE_RAW);
  assert.equal(linkTypeFromDlt(12, "openbsd"), 108);
  assert.equal(linkTypeFromDlt(LINKTYPE_ETHERNET, "linux"), LINKTYPE_ETHERNET);
  assert.equal(linkTypeFromDlt(LINKTYPE_LINUX_SLL, "linux"), LINKTYPE_LINUX_SLL);
  assert.equal(linkTypeFromDlt(276, "linux"), 276);
  for (const os of ["linux", "darwin", "openbsd"]) {
    for (const dlt of [0, 1, 9, 11, 12, 14, 15, 16, 19, 50, 104, 113, 228, 276]) {
      assert.equal(dltFromLinkType(linkTypeFromDlt(dlt, os), os), dlt, `${os} DLT ${dlt}`);
    }
  }
});

Deno.test({
  name: "loadLibpcap reports a missing library as LiveCaptureError 'unavailable'",
  ignore: !lib,
  fn() {
    assert.throws(
      () => loadLibpcap("/nonexistent/libpcap.so.404"),
      (e) =>
        e instanceof LiveCaptureError && e.reason === "unavailable" && /libpcap/.test(e.message),
    );
    assert.match(lib!.version, /libpcap version \d+\.\d+/);
    // Loading is cached: the same object comes back.
    assert.equal(loadLibpcap(), lib);
  },
});

Deno.test({
  name: "BpfProgram applies a filter to packets in memory",
  ignore: !lib,
  fn() {
    const program = new BpfProgram("udp port 5060", LINKTYPE_ETHERNET);
    try {
      assert.equal(program.matches(ethernet(0x0800, ipv4(17, udp(5060, 5062, SIP)))), true);
      assert.equal(program.matches(ethernet(0x0800, ipv4(17, udp(5070, 5062, SIP)))), false);
      assert.equal(program.matches(ethernet(0x0800, ipv4(6, udp(5060, 5060, SIP)))), false);
      assert.equal(program.matches(new Uint8Array(0)), false);
      // A truncated packet is rejected, not read past its end.
      assert.equal(
        program.matches(ethernet(0x0800, ipv4(17, udp(5060, 1, SIP))).subarray(0, 30)),
        false,
      );
    } finally {
      program.close();
    }
    assert.throws(() => program.matches(new Uint8Array(60)), LiveCaptureError);
    program.close(); // twice is harmless
  },
});

Deno.test({
  name:
    "a port filter loses the later fragments of a large datagram; the protocol filter keeps them",
  ignore: !lib,
  fn() {
    const first = ethernet(0x0800, ipv4(17, udp(5060, 5060, SIP), { offset8: 0, more: true }));
    const later = ethernet(0x0800, ipv4(17, SIP, { offset8: 185, more: false }));
    const port = new BpfProgram("udp port 5060", LINKTYPE_ETHERNET);
    const proto = new BpfProgram("udp", LINKTYPE_ETHERNET);
    try {
      assert.equal(port.matches(first), true);
      assert.equal(port.matches(later), false, "libpcap's port test needs the UDP header");
      assert.equal(proto.matches(first), true);
      assert.equal(proto.matches(later), true, "every IPv4 fragment carries protocol 17");
      // IPv6: the fragment header sits where UDP's would; libpcap's `udp` looks one header further
      // (every fragment's fragment header names UDP), its port test does not.
      const v6Later = ethernet(0x86dd, ipv6(44, ipv6Fragment(17, 185, false, SIP)));
      assert.equal(port.matches(v6Later), false);
      assert.equal(proto.matches(v6Later), true);
    } finally {
      port.close();
      proto.close();
    }
  },
});

Deno.test({
  name: "BpfProgram rejects a filter that does not compile, naming the filter",
  ignore: !lib,
  fn() {
    assert.throws(
      () => new BpfProgram("udp and port", LINKTYPE_ETHERNET),
      (e) =>
        e instanceof LiveCaptureError && e.reason === "filter" && /'udp and port'/.test(e.message),
    );
    // `vlan` does not exist on Linux cooked captures: refused there, accepted on Ethernet.
    assert.throws(() => new BpfProgram("vlan and udp", 276), LiveCaptureError);
    new BpfProgram("vlan and udp", LINKTYPE_ETHERNET).close();
  },
});

Deno.test({
  name: "findAllDevices lists the loopback interface and 'any'",
  ignore: !lib || Deno.build.os !== "linux",
  fn() {
    const devices = findAllDevices();
    const lo = devices.find((d) => d.name === "lo");
    assert.ok(lo, `no lo in ${devices.map((d) => d.name).join(", ")}`);
    assert.equal(lo.loopback, true);
    assert.equal(lo.up, true);
    assert.ok(devices.some((d) => d.name === "any"));
    assert.equal(new Set(devices.map((d) => d.name)).size, devices.length);
  },
});

Deno.test({
  name: "PcapHandle reports a missing interface as 'no-such-device'",
  ignore: !canCapture,
  fn() {
    const handle = PcapHandle.create("pwnosuch0");
    try {
      assert.throws(
        () => handle.activate(),
        (e) =>
          e instanceof LiveCaptureError && e.reason === "no-such-device" &&
          e.device === "pwnosuch0" && e.status === -5 && /pwnosuch0/.test(e.message),
      );
    } finally {
      handle.close();
    }
    handle.close();
    assert.equal(handle.closed, true);
  },
});

Deno.test({
  name: "ReadinessWaiter: wake ends a wait at once, a timeout ends it otherwise",
  ignore: !lib || Deno.build.os !== "linux",
  async fn() {
    const waiter = new ReadinessWaiter(lib!, -1);
    try {
      assert.equal(waiter.canWake, true);
      let t = performance.now();
      assert.equal(await waiter.wait(30), "timeout");
      assert.ok(performance.now() - t >= 25, "the wait lasted its timeout");
      let ticks = 0;
      const interval = setInterval(() => ticks++, 5);
      setTimeout(() => waiter.wake(), 100);
      t = performance.now();
      const result = await waiter.wait(5000);
      const waited = performance.now() - t;
      clearInterval(interval);
      assert.equal(result, "woken");
      assert.ok(waited < 1000, `woken after ${waited} ms`);
      assert.ok(ticks >= 5, `the event loop ran during the wait (${ticks} ticks)`);
    } finally {
      waiter.close();
    }
  },
});

Deno.test({
  name: "without CAP_NET_RAW, activation fails with 'permission-denied' and a hint",
  // Dropping a capability from the bounding set takes root (CAP_SETPCAP).
  ignore: !canCapture || !isRoot() || !hasSetpriv(),
  async fn() {
    // Root with CAP_NET_RAW dropped from the bounding set: the capability is gone after exec.
    const script = `
      import { PcapHandle, LiveCaptureError } from ${
      JSON.stringify(import.meta.resolve("./libpcap.ts"))
    };
      const h = PcapHandle.create("lo");
      try { h.activate(); console.log("activated"); }
      catch (e) { console.log(JSON.stringify({ reason: e.reason, status: e.status, message: e.message })); }
      finally { h.close(); }
    `;
    const out = await new Deno.Command("setpriv", {
      args: ["--bounding-set=-net_raw", Deno.execPath(), "eval", "--quiet", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(out.success, true, new TextDecoder().decode(out.stderr));
    const result = JSON.parse(text);
    assert.equal(result.reason, "permission-denied");
    assert.equal(result.status, -8);
    assert.match(result.message, /^Cannot capture on lo: .*permission.*CAP_NET_RAW/);
  },
});

function hasSetpriv(): boolean {
  try {
    return new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "libpcap works with --allow-ffi narrowed to the two libraries' absolute paths",
  ignore: !lib || !lib.path.startsWith("/") || !lib.libcPath.startsWith("/"),
  async fn() {
    const script = `
      import { BpfProgram, findAllDevices, loadLibpcap } from ${
      JSON.stringify(import.meta.resolve("./libpcap.ts"))
    };
      const lib = loadLibpcap();
      const names = findAllDevices(lib).map((d) => d.name);
      const bpf = new BpfProgram("udp port 5060", 1, { lib });
      bpf.close();
      console.log(JSON.stringify({ version: lib.version, lo: names.includes("lo") }));
    `;
    // `deno eval` would grant every permission: the script runs from a file.
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(file, script);
    const run = async (ffi: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--no-lock", "--allow-read", ...ffi, file],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const narrowed = await run([`--allow-ffi=${lib!.path},${lib!.libcPath}`]);
    assert.equal(narrowed.ok, true, narrowed.stderr);
    const result = JSON.parse(narrowed.stdout.trim());
    assert.equal(result.version, lib!.version);
    assert.equal(result.lo, Deno.build.os === "linux");
    // Without FFI at all, the error says what permission is missing.
    const refused = await run([]);
    assert.equal(refused.ok, false);
    assert.match(refused.stderr, /--allow-ffi/);
    await Deno.remove(file);
  },
});
