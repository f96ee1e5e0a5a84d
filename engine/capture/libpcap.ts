/**
 * A small binding of libpcap (and the few libc calls live capture needs)
 * through `Deno.dlopen`. `npm:cap` is a NAN addon that Deno cannot load, so
 * packetwave calls the C library directly. Nothing outside this file touches
 * a pointer: {@link PcapHandle} wraps a capture handle, {@link BpfProgram} a
 * compiled filter usable on any packet, and {@link ReadinessWaiter} the
 * wait-for-packets call that runs off the JavaScript thread.
 *
 * Needs `--allow-ffi`. Tested with libpcap 1.10 (Debian `libpcap0.8`) on
 * Linux x86_64; the struct layouts assumed are those of 64-bit Linux and
 * macOS.
 *
 * @module
 */

import {
  LINKTYPE_LOOP,
  LINKTYPE_RAW,
  LINKTYPE_RAW_BSD12,
  LINKTYPE_RAW_BSD14,
} from "./link_types.ts";

/** Library names tried, in order, when no path is given (Debian ships only `libpcap.so.0.8`). */
export const LIBPCAP_NAMES: readonly string[] = [
  "libpcap.so.0.8",
  "libpcap.so.1",
  "libpcap.so",
  "libpcap.A.dylib",
  "libpcap.dylib",
];

/**
 * Directories searched for the libraries before the bare names are left to the
 * dynamic loader: Deno can only narrow `--allow-ffi` to a library opened by
 * its absolute path.
 */
export const LIBRARY_DIRS: readonly string[] = [
  `/usr/lib/${Deno.build.arch}-linux-gnu`,
  `/lib/${Deno.build.arch}-linux-gnu`,
  "/usr/lib64",
  "/lib64",
  "/usr/lib",
  "/usr/local/lib",
  "/opt/homebrew/lib",
];

/**
 * Candidates for a library: the absolute paths under {@link LIBRARY_DIRS}, then the bare name.
 *
 * @param names Library file names, in order of preference.
 * @returns Paths and names to try, in order.
 */
export function libraryCandidates(names: readonly string[]): string[] {
  return [...LIBRARY_DIRS.flatMap((dir) => names.map((name) => `${dir}/${name}`)), ...names];
}

/** Netmask to pass to `pcap_compile` when the interface's netmask is not known. */
export const PCAP_NETMASK_UNKNOWN = 0xffffffff;
/** Size of libpcap's error-message buffers. */
export const PCAP_ERRBUF_SIZE = 256;

/** `pcap_activate` and friends: generic error. */
export const PCAP_ERROR = -1;
/** `pcap_next_ex`: the loop was broken by `pcap_breakloop`. */
export const PCAP_ERROR_BREAK = -2;
/** `pcap_activate`: the interface does not exist. */
export const PCAP_ERROR_NO_SUCH_DEVICE = -5;
/** `pcap_activate`: the process may not capture (no CAP_NET_RAW, not root). */
export const PCAP_ERROR_PERM_DENIED = -8;
/** `pcap_activate`: the interface is down. */
export const PCAP_ERROR_IFACE_NOT_UP = -9;
/** `pcap_activate`: the process may not put the interface in promiscuous mode. */
export const PCAP_ERROR_PROMISC_PERM_DENIED = -11;
/** `pcap_set_tstamp_precision`: the requested precision is not supported. */
export const PCAP_ERROR_TSTAMP_PRECISION_NOTSUP = -12;

const PCAP_TSTAMP_PRECISION_NANO = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const POLLIN = 0x1;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;
/** `struct pcap_pkthdr` on 64-bit Unix: timeval (16 bytes), caplen, len. */
const PKTHDR_BYTES = 24;

/** Why live capture could not start or go on. */
export type LiveCaptureErrorReason =
  | "unavailable"
  | "no-such-device"
  | "permission-denied"
  | "interface-down"
  | "activate"
  | "filter"
  | "read";

/** Live capture failed: libpcap missing, no permission, no such interface, a bad filter, a read error. */
export class LiveCaptureError extends Error {
  /** What kind of failure, for callers that react to it (a CLI hint, a test skip). */
  readonly reason: LiveCaptureErrorReason;
  /** The interface concerned, or `""` when the failure is not about one. */
  readonly device: string;
  /** libpcap's status code (`PCAP_ERROR_*`), 0 when the failure did not come from one. */
  readonly status: number;

  /**
   * @param reason Kind of failure.
   * @param device Interface name, or `""`.
   * @param message The whole message (sentence case, no final period).
   * @param status libpcap status code, or 0.
   */
  constructor(reason: LiveCaptureErrorReason, device: string, message: string, status = 0) {
    super(message);
    this.name = "LiveCaptureError";
    this.reason = reason;
    this.device = device;
    this.status = status;
  }
}

const PCAP_SYMBOLS = {
  // Strings and structs come back as addresses (numbers) and are copied out with libc's
  // strlen and memcpy: Deno's pointer views need an unrestricted --allow-ffi, these do not.
  pcap_lib_version: { parameters: [], result: "usize" },
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_tstamp_precision: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_get_tstamp_precision: { parameters: ["pointer"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_statustostr: { parameters: ["i32"], result: "usize" },
  pcap_geterr: { parameters: ["pointer"], result: "usize" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_lookupnet: { parameters: ["buffer", "buffer", "buffer", "buffer"], result: "i32" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_offline_filter: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  pcap_open_dead: { parameters: ["i32", "i32"], result: "pointer" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  pcap_get_required_select_timeout: { parameters: ["pointer"], result: "usize" },
  pcap_next_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_breakloop: { parameters: ["pointer"], result: "void" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  // Closing a Linux packet socket waits for an RCU grace period (~10-20 ms): off the JS thread.
  pcap_close_async: {
    name: "pcap_close",
    parameters: ["pointer"],
    result: "void",
    nonblocking: true,
  },
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  pcap_freealldevs: { parameters: ["usize"], result: "void" },
} as const;

const LIBC_SYMBOLS = {
  // The one call that may block: it runs on a worker thread and returns a promise.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  // Copies from an address given as a number, so reading a packet allocates no pointer objects.
  memcpy: { parameters: ["buffer", "usize", "usize"], result: "usize" },
  strlen: { parameters: ["usize"], result: "usize" },
} as const;

type PcapLibrary = Deno.DynamicLibrary<typeof PCAP_SYMBOLS>;
type LibcLibrary = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

/** A loaded libpcap (and libc), shared by every handle. */
export interface Libpcap {
  /** Path or name the library was loaded from. */
  readonly path: string;
  /** Path or name the C library was loaded from. */
  readonly libcPath: string;
  /** `pcap_lib_version()`, such as `libpcap version 1.10.3 (with TPACKET_V3)`. */
  readonly version: string;
  /** @internal The raw libpcap symbols. */
  readonly pcap: PcapLibrary["symbols"];
  /** @internal The raw libc symbols. */
  readonly libc: LibcLibrary["symbols"];
  /** @internal `memcpy` from a native address given as a number (exact below 2^53). */
  readonly copyFromAddress: (dest: Uint8Array, address: number, length: number) => void;
}

const loaded = new Map<string, Libpcap>();

/**
 * Loads libpcap (once per path) and the libc calls live capture needs.
 *
 * @param path A library path or name; by default the names in {@link LIBPCAP_NAMES} are tried.
 * @returns The loaded library.
 * @throws {LiveCaptureError} With reason `unavailable` when FFI is not permitted or no library loads.
 */
export function loadLibpcap(path?: string): Libpcap {
  const key = path ?? "";
  const cached = loaded.get(key);
  if (cached) return cached;
  const names = path === undefined ? libraryCandidates(LIBPCAP_NAMES) : [path];
  const failures: string[] = [];
  let pcap: PcapLibrary | undefined;
  let from = "";
  let refused = 0;
  for (const name of names) {
    try {
      pcap = Deno.dlopen(name, PCAP_SYMBOLS);
      from = name;
      break;
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        refused++;
      } else if (!name.startsWith("/") || path !== undefined) {
        // Absolute candidates that do not exist are expected; only names are worth reporting.
        failures.push(`${name}: ${errorText(error)}`);
      }
    }
  }
  if (!pcap && refused > 0) {
    throw new LiveCaptureError(
      "unavailable",
      "",
      "Cannot load libpcap: foreign function calls are not permitted " +
        "(run deno with --allow-ffi, or --allow-ffi=PATH-OF-LIBPCAP,PATH-OF-LIBC)",
    );
  }
  if (!pcap) {
    throw new LiveCaptureError(
      "unavailable",
      "",
      `Cannot load libpcap: install it (Debian: apt-get install libpcap0.8) or give its path: ${
        failures.join("; ")
      }`,
    );
  }
  let libc: LibcLibrary | undefined;
  let libcError: unknown = null;
  let libcPath = "";
  for (
    const name of libraryCandidates([
      Deno.build.os === "darwin" ? "libSystem.B.dylib" : "libc.so.6",
    ])
  ) {
    try {
      libc = Deno.dlopen(name, LIBC_SYMBOLS);
      libcPath = name;
      break;
    } catch (error) {
      libcError ??= error;
      if (!name.startsWith("/")) libcError = error;
    }
  }
  if (!libc) {
    pcap.close();
    throw new LiveCaptureError(
      "unavailable",
      "",
      `Cannot load the C library: ${errorText(libcError)}`,
    );
  }
  const version = cString(libc.symbols, pcap.symbols.pcap_lib_version()) ||
    "libpcap (unknown version)";
  // Deno accepts a number for a 64-bit parameter at run time (its types say bigint): passing the
  // address as a number keeps reading a packet free of BigInt and pointer-object allocations.
  const copyFromAddress = libc.symbols.memcpy as unknown as Libpcap["copyFromAddress"];
  const lib: Libpcap = {
    path: from,
    libcPath,
    version,
    pcap: pcap.symbols,
    libc: libc.symbols,
    copyFromAddress,
  };
  loaded.set(key, lib);
  return lib;
}

/**
 * The LINKTYPE_* value (the number written to capture files) for a DLT_*
 * value returned by `pcap_datalink`. The two agree except for a few old
 * types whose DLT numbers differ between platforms.
 *
 * @param dlt A DLT_* value of this platform.
 * @param os The platform whose DLT numbering applies.
 * @returns The LINKTYPE_* value.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(linkTypeFromDlt(12, "linux"), 101); // DLT_RAW on Linux is LINKTYPE_RAW
 * assert.equal(linkTypeFromDlt(1, "linux"), 1);
 * ```
 */
export function linkTypeFromDlt(dlt: number, os: string = Deno.build.os): number {
  if (dlt === 11) return 100; // ATM RFC 1483
  if (dlt === 15) return 102; // SLIP BSD/OS
  if (dlt === 16) return 103; // PPP BSD/OS
  if (dlt === 19) return 106; // ATM classical IP
  if (os === "openbsd") {
    if (dlt === LINKTYPE_RAW_BSD14) return LINKTYPE_RAW;
    if (dlt === LINKTYPE_RAW_BSD12) return LINKTYPE_LOOP;
    return dlt;
  }
  return dlt === LINKTYPE_RAW_BSD12 ? LINKTYPE_RAW : dlt;
}

/**
 * The DLT_* value libpcap's filter compiler expects for a LINKTYPE_* value:
 * the inverse of {@link linkTypeFromDlt}.
 *
 * @param linkType A LINKTYPE_* value.
 * @param os The platform whose DLT numbering applies.
 * @returns The DLT_* value.
 */
export function dltFromLinkType(linkType: number, os: string = Deno.build.os): number {
  if (linkType === 100) return 11;
  if (linkType === 102) return 15;
  if (linkType === 103) return 16;
  if (linkType === 106) return 19;
  if (linkType === LINKTYPE_RAW) return os === "openbsd" ? LINKTYPE_RAW_BSD14 : LINKTYPE_RAW_BSD12;
  if (os === "openbsd" && linkType === LINKTYPE_LOOP) return LINKTYPE_RAW_BSD12;
  return linkType;
}

/** Kernel packet counters from `pcap_stats` (their exact meaning varies by platform; see pcap_stats(3PCAP)). */
export interface LiveStats {
  /** Packets received (on Linux: that passed the filter). */
  received: number;
  /** Packets dropped because the capture buffer was full. */
  dropped: number;
  /** Packets dropped by the interface or its driver (not supported everywhere). */
  ifDropped: number;
}

/** An interface `pcap_findalldevs` lists. */
export interface PcapDevice {
  /** Name to pass as the interface (`eth0`, `lo`, `any`). */
  name: string;
  /** Description, when libpcap has one. */
  description: string;
  /** Whether it is a loopback interface. */
  loopback: boolean;
  /** Whether it is up. */
  up: boolean;
  /** Whether it is running. */
  running: boolean;
}

/**
 * Lists the interfaces libpcap can capture on.
 *
 * @param lib The library (loaded by default).
 * @returns The interfaces, in libpcap's order.
 * @throws {LiveCaptureError} When libpcap is unavailable or cannot list interfaces.
 */
export function findAllDevices(lib: Libpcap = loadLibpcap()): PcapDevice[] {
  const head = new BigUint64Array(1);
  const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
  if (lib.pcap.pcap_findalldevs(head, errbuf) !== 0) {
    throw new LiveCaptureError("activate", "", `Cannot list interfaces: ${bufferText(errbuf)}`);
  }
  const devices: PcapDevice[] = [];
  const first = head[0]!;
  // struct pcap_if { next; name; description; addresses; bpf_u_int32 flags; } (64-bit layout)
  for (let p = first; p !== 0n && devices.length < 10000;) {
    const view = new DataView(copyAt(lib.libc, p, 40).buffer);
    const flags = view.getUint32(32, true);
    devices.push({
      name: cString(lib.libc, view.getBigUint64(8, true)),
      description: cString(lib.libc, view.getBigUint64(16, true)),
      loopback: (flags & 0x1) !== 0,
      up: (flags & 0x2) !== 0,
      running: (flags & 0x4) !== 0,
    });
    p = view.getBigUint64(0, true);
  }
  if (first !== 0n) lib.pcap.pcap_freealldevs(first);
  return devices;
}

/**
 * One libpcap capture handle, from `pcap_create` to `pcap_close`. Setters
 * apply before {@link PcapHandle.activate}; reading uses non-blocking mode
 * and {@link PcapHandle.next}. Not safe to use from two calls at once.
 */
export class PcapHandle {
  /** The interface name. */
  readonly device: string;
  readonly #lib: Libpcap;
  #handle: Deno.PointerValue;
  /** pcap_next_ex's two out pointers, read as 32-bit halves to avoid BigInt allocation. */
  readonly #outWords = new Uint32Array(4);
  readonly #outHeader: Uint8Array;
  readonly #outData: Uint8Array;
  readonly #header = new Uint8Array(PKTHDR_BYTES);
  readonly #headerView: DataView;
  readonly #statBuffer = new Uint8Array(16);
  #nanos = false;
  /** Seconds part of the last packet's timestamp. */
  tsSeconds = 0;
  /** Fraction part of the last packet's timestamp, in µs or ns (see {@link PcapHandle.nanos}). */
  tsFraction = 0;
  /** Captured length of the last packet. */
  capLen = 0;
  /** Wire length of the last packet. */
  origLen = 0;

  private constructor(lib: Libpcap, device: string, handle: Deno.PointerValue) {
    this.#lib = lib;
    this.device = device;
    this.#handle = handle;
    this.#outHeader = new Uint8Array(this.#outWords.buffer, 0, 8);
    this.#outData = new Uint8Array(this.#outWords.buffer, 8, 8);
    this.#headerView = new DataView(this.#header.buffer);
  }

  /**
   * Creates a handle for an interface (not yet active).
   *
   * @param device Interface name, or `any`.
   * @param lib The library (loaded by default).
   * @returns The handle.
   * @throws {LiveCaptureError} When libpcap is unavailable or refuses the name.
   */
  static create(device: string, lib: Libpcap = loadLibpcap()): PcapHandle {
    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    const handle = lib.pcap.pcap_create(cStringBytes(device), errbuf);
    if (handle === null) {
      throw new LiveCaptureError(
        "activate",
        device,
        `Cannot capture on ${device}: ${bufferText(errbuf)}`,
      );
    }
    return new PcapHandle(lib, device, handle);
  }

  /** Whether timestamps count nanoseconds (else microseconds); known after activation. */
  get nanos(): boolean {
    return this.#nanos;
  }

  /** Whether the handle has been closed. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /** @param bytes Snapshot length: bytes kept of each packet. */
  setSnapLen(bytes: number): void {
    this.#check(this.#lib.pcap.pcap_set_snaplen(this.#live(), bytes), "snapshot length");
  }

  /** @param on Whether to put the interface in promiscuous mode. */
  setPromiscuous(on: boolean): void {
    this.#check(this.#lib.pcap.pcap_set_promisc(this.#live(), on ? 1 : 0), "promiscuous mode");
  }

  /** @param ms Packet buffer timeout: how long the kernel may hold packets to batch them. */
  setTimeout(ms: number): void {
    this.#check(this.#lib.pcap.pcap_set_timeout(this.#live(), ms), "timeout");
  }

  /** @param bytes Size of the kernel capture buffer. */
  setBufferSize(bytes: number): void {
    this.#check(this.#lib.pcap.pcap_set_buffer_size(this.#live(), bytes), "buffer size");
  }

  /** @param on Whether packets are delivered as soon as they arrive (no batching). */
  setImmediateMode(on: boolean): void {
    this.#check(this.#lib.pcap.pcap_set_immediate_mode(this.#live(), on ? 1 : 0), "immediate mode");
  }

  /**
   * Asks for nanosecond timestamps.
   *
   * @returns Whether the platform supports them (else timestamps stay in microseconds).
   */
  requestNanoseconds(): boolean {
    return this.#lib.pcap.pcap_set_tstamp_precision(this.#live(), PCAP_TSTAMP_PRECISION_NANO) ===
      0;
  }

  /**
   * Activates the handle.
   *
   * @returns Warnings libpcap gave (activation went on despite them).
   * @throws {LiveCaptureError} When activation fails; the reason tells why.
   */
  activate(): string[] {
    const p = this.#live();
    const status = this.#lib.pcap.pcap_activate(p);
    if (status < 0) {
      const statusText = cString(this.#lib.libc, this.#lib.pcap.pcap_statustostr(status));
      const detail = cString(this.#lib.libc, this.#lib.pcap.pcap_geterr(p));
      const reason: LiveCaptureErrorReason = status === PCAP_ERROR_NO_SUCH_DEVICE
        ? "no-such-device"
        : status === PCAP_ERROR_PERM_DENIED || status === PCAP_ERROR_PROMISC_PERM_DENIED
        ? "permission-denied"
        : status === PCAP_ERROR_IFACE_NOT_UP
        ? "interface-down"
        : "activate";
      const hint = reason === "permission-denied"
        ? " (run as root, or give deno CAP_NET_RAW and CAP_NET_ADMIN)"
        : "";
      const text = detail && detail !== statusText ? `${statusText}: ${detail}` : statusText;
      throw new LiveCaptureError(
        reason,
        this.device,
        `Cannot capture on ${this.device}: ${text}${hint}`,
        status,
      );
    }
    this.#nanos = this.#lib.pcap.pcap_get_tstamp_precision(p) === PCAP_TSTAMP_PRECISION_NANO;
    if (status === 0) return [];
    const statusText = cString(this.#lib.libc, this.#lib.pcap.pcap_statustostr(status));
    const detail = cString(this.#lib.libc, this.#lib.pcap.pcap_geterr(p));
    return [detail && detail !== statusText ? `${statusText}: ${detail}` : statusText];
  }

  /** The DLT_* value of the active handle (see {@link linkTypeFromDlt}). */
  dataLink(): number {
    return this.#lib.pcap.pcap_datalink(this.#live());
  }

  /**
   * Compiles a BPF filter with the interface's netmask and installs it.
   *
   * @param filter tcpdump filter syntax.
   * @throws {LiveCaptureError} With reason `filter` when it does not compile or install.
   */
  setFilter(filter: string): void {
    const p = this.#live();
    const program = new Uint8Array(16);
    const netmask = lookupNetmask(this.#lib, this.device);
    if (this.#lib.pcap.pcap_compile(p, program, cStringBytes(filter), 1, netmask) !== 0) {
      throw new LiveCaptureError(
        "filter",
        this.device,
        `Cannot compile filter '${filter}': ${
          cString(this.#lib.libc, this.#lib.pcap.pcap_geterr(p))
        }`,
      );
    }
    const status = this.#lib.pcap.pcap_setfilter(p, program);
    this.#lib.pcap.pcap_freecode(program);
    if (status !== 0) {
      throw new LiveCaptureError(
        "filter",
        this.device,
        `Cannot install filter on ${this.device}: ${
          cString(this.#lib.libc, this.#lib.pcap.pcap_geterr(p))
        }`,
      );
    }
  }

  /**
   * @param on Whether reads return at once when no packet is waiting.
   * @throws {LiveCaptureError} When the mode cannot be set.
   */
  setNonblocking(on: boolean): void {
    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    if (this.#lib.pcap.pcap_setnonblock(this.#live(), on ? 1 : 0, errbuf) < 0) {
      throw new LiveCaptureError(
        "activate",
        this.device,
        `Cannot set non-blocking mode on ${this.device}: ${bufferText(errbuf)}`,
      );
    }
  }

  /** A descriptor that polls readable when packets wait, or -1 where there is none. */
  selectableFd(): number {
    return this.#lib.pcap.pcap_get_selectable_fd(this.#live());
  }

  /** The longest a poll may wait before reading anyway, in ms, or `null` when there is no such limit. */
  requiredSelectTimeoutMs(): number | null {
    const tv = this.#lib.pcap.pcap_get_required_select_timeout(this.#live());
    if (Number(tv) === 0) return null;
    // struct timeval { time_t tv_sec; suseconds_t tv_usec; } (64-bit layout)
    const view = new DataView(copyAt(this.#lib.libc, tv, 16).buffer);
    return Number(view.getBigInt64(0, true)) * 1000 + Math.ceil(view.getUint32(8, true) / 1000);
  }

  /**
   * Reads the next packet (`pcap_next_ex`) and copies it into `dest`. The
   * header fields land in {@link PcapHandle.tsSeconds}, `tsFraction`,
   * `capLen` (never more than `dest.length`) and `origLen`.
   *
   * @param dest Where the packet's bytes are copied, from offset 0.
   * @returns 1 when a packet was read, 0 when none is waiting, {@link PCAP_ERROR_BREAK} after `breakLoop`.
   * @throws {LiveCaptureError} With reason `read` when libpcap reports an error.
   */
  next(dest: Uint8Array): number {
    const lib = this.#lib;
    const rc = lib.pcap.pcap_next_ex(this.#live(), this.#outHeader, this.#outData);
    if (rc !== 1) {
      if (rc === 0 || rc === PCAP_ERROR_BREAK) return rc;
      throw new LiveCaptureError(
        "read",
        this.device,
        `Cannot read from ${this.device}: ${cString(lib.libc, lib.pcap.pcap_geterr(this.#handle))}`,
        rc,
      );
    }
    const w = this.#outWords;
    lib.copyFromAddress(this.#header, w[0]! + w[1]! * 4294967296, PKTHDR_BYTES);
    const h = this.#headerView;
    this.tsSeconds = h.getUint32(0, true) + h.getInt32(4, true) * 4294967296;
    // tv_usec is a long on Linux and an int on macOS; its value fits the low 32 bits either way.
    this.tsFraction = h.getUint32(8, true);
    const capLen = Math.min(h.getUint32(16, true), dest.length);
    this.capLen = capLen;
    this.origLen = h.getUint32(20, true);
    if (capLen > 0) lib.copyFromAddress(dest, w[2]! + w[3]! * 4294967296, capLen);
    return 1;
  }

  /**
   * Kernel statistics (`pcap_stats`).
   *
   * @returns The counters, or `null` when the platform cannot tell or the handle is closed.
   */
  stats(): LiveStats | null {
    if (this.#handle === null) return null;
    const b = this.#statBuffer;
    if (this.#lib.pcap.pcap_stats(this.#handle, b) !== 0) return null;
    const v = new DataView(b.buffer);
    return {
      received: v.getUint32(0, true),
      dropped: v.getUint32(4, true),
      ifDropped: v.getUint32(8, true),
    };
  }

  /** Makes a blocked or looping read return {@link PCAP_ERROR_BREAK} (`pcap_breakloop`). */
  breakLoop(): void {
    if (this.#handle !== null) this.#lib.pcap.pcap_breakloop(this.#handle);
  }

  /** Closes the handle. Safe to call twice. */
  close(): void {
    if (this.#handle === null) return;
    this.#lib.pcap.pcap_close(this.#handle);
    this.#handle = null;
  }

  /** Closes the handle on a worker thread, keeping the event loop free. Safe to call twice. */
  async closeAsync(): Promise<void> {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    await this.#lib.pcap.pcap_close_async(handle);
  }

  #live(): NonNullable<Deno.PointerValue> {
    if (this.#handle === null) {
      throw new LiveCaptureError("read", this.device, `Capture on ${this.device} is closed`);
    }
    return this.#handle;
  }

  #check(status: number, what: string): void {
    if (status !== 0) {
      throw new LiveCaptureError(
        "activate",
        this.device,
        `Cannot set ${what} on ${this.device}: ${
          cString(this.#lib.libc, this.#lib.pcap.pcap_statustostr(status))
        }`,
        status,
      );
    }
  }
}

/**
 * A BPF filter compiled for a link type, applied to packets in memory
 * (`pcap_offline_filter`): the same filter language and code as live
 * capture, usable on frames read from files.
 */
export class BpfProgram {
  /** The filter text. */
  readonly filter: string;
  /** The LINKTYPE_* it was compiled for. */
  readonly linkType: number;
  readonly #lib: Libpcap;
  readonly #program = new Uint8Array(16);
  readonly #header = new Uint8Array(PKTHDR_BYTES);
  readonly #headerView = new DataView(this.#header.buffer);
  #freed = false;

  /**
   * Compiles a filter.
   *
   * @param filter tcpdump filter syntax.
   * @param linkType LINKTYPE_* of the packets it will see.
   * @param options Snapshot length the filter assumes, and the library.
   * @throws {LiveCaptureError} With reason `filter` when it does not compile for that link type.
   */
  constructor(
    filter: string,
    linkType: number,
    options: { snapLen?: number; lib?: Libpcap } = {},
  ) {
    const lib = options.lib ?? loadLibpcap();
    this.#lib = lib;
    this.filter = filter;
    this.linkType = linkType;
    const dead = lib.pcap.pcap_open_dead(dltFromLinkType(linkType), options.snapLen ?? 262144);
    if (dead === null) {
      throw new LiveCaptureError("filter", "", `Cannot compile filter '${filter}': out of memory`);
    }
    try {
      const status = lib.pcap.pcap_compile(
        dead,
        this.#program,
        cStringBytes(filter),
        1,
        PCAP_NETMASK_UNKNOWN,
      );
      if (status !== 0) {
        throw new LiveCaptureError(
          "filter",
          "",
          `Cannot compile filter '${filter}' for link type ${linkType}: ${
            cString(lib.libc, lib.pcap.pcap_geterr(dead))
          }`,
        );
      }
    } finally {
      lib.pcap.pcap_close(dead);
    }
  }

  /**
   * Runs the filter on one packet.
   *
   * @param packet The captured bytes, starting at the link-layer header.
   * @param origLen Length on the wire (defaults to the captured length).
   * @returns Whether the filter accepts it.
   * @throws {LiveCaptureError} After {@link BpfProgram.close}.
   */
  matches(packet: Uint8Array, origLen: number = packet.length): boolean {
    if (this.#freed) throw new LiveCaptureError("filter", "", "Filter program is closed");
    this.#headerView.setUint32(16, packet.length, true);
    this.#headerView.setUint32(20, origLen, true);
    // An empty buffer would pass a null pointer; the filter only reads within caplen.
    const data = packet.length > 0 ? packet : this.#header;
    return this.#lib.pcap.pcap_offline_filter(this.#program, this.#header, data) !== 0;
  }

  /** Frees the compiled code. Safe to call twice. */
  close(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#lib.pcap.pcap_freecode(this.#program);
  }
}

/**
 * Waits, off the JavaScript thread, until a descriptor is readable, a
 * timeout passes or {@link ReadinessWaiter.wake} is called. It is a
 * `poll(2)` run as a `nonblocking` FFI call (so the event loop stays free)
 * on the capture descriptor plus an eventfd that `wake` writes to.
 */
export class ReadinessWaiter {
  readonly #lib: Libpcap;
  readonly #fds = new Uint8Array(16);
  readonly #view = new DataView(this.#fds.buffer);
  /** Slot of the watched descriptor in the pollfd array, or -1. */
  readonly #fdSlot: number;
  /** Slot of the eventfd, or -1 where there is none. */
  readonly #wakeSlot: number;
  readonly #count: number;
  #eventFd: number;
  #waiting = false;

  /**
   * @param lib The library.
   * @param fd Descriptor to watch, or -1 to watch only for `wake` (and timeouts).
   */
  constructor(lib: Libpcap, fd: number) {
    this.#lib = lib;
    this.#eventFd = Deno.build.os === "linux"
      ? lib.libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)
      : -1;
    let n = 0;
    this.#fdSlot = fd >= 0 ? n++ : -1;
    this.#wakeSlot = this.#eventFd >= 0 ? n++ : -1;
    this.#count = n;
    if (this.#fdSlot >= 0) this.#setSlot(this.#fdSlot, fd);
    if (this.#wakeSlot >= 0) this.#setSlot(this.#wakeSlot, this.#eventFd);
  }

  /** Whether `wake` interrupts a wait at once (else it is noticed when the wait times out). */
  get canWake(): boolean {
    return this.#wakeSlot >= 0;
  }

  /**
   * Waits until the descriptor is readable, `wake` is called or the timeout passes.
   *
   * @param timeoutMs Longest wait.
   * @returns `woken` after `wake`; `ready` when the descriptor polled readable; `error` when it
   *   reported an error; else `timeout`.
   */
  async wait(timeoutMs: number): Promise<"ready" | "error" | "woken" | "timeout"> {
    if (this.#waiting) throw new Error("ReadinessWaiter.wait is already in progress");
    const v = this.#view;
    const ms = Math.max(0, Math.min(timeoutMs, 0x7fffffff) | 0);
    for (let i = 0; i < this.#count; i++) v.setInt16(i * 8 + 6, 0, true);
    this.#waiting = true;
    let n = 0;
    try {
      if (this.#count === 0) await new Promise((resolve) => setTimeout(resolve, ms));
      else n = await this.#lib.libc.poll(this.#fds, BigInt(this.#count), ms);
    } finally {
      this.#waiting = false;
    }
    if (n <= 0) return "timeout";
    if (this.#wakeSlot >= 0 && (v.getInt16(this.#wakeSlot * 8 + 6, true) & POLLIN) !== 0) {
      return "woken";
    }
    if (this.#fdSlot >= 0) {
      const revents = v.getInt16(this.#fdSlot * 8 + 6, true);
      if ((revents & (POLLERR | POLLHUP | POLLNVAL)) !== 0) return "error";
      if ((revents & POLLIN) !== 0) return "ready";
    }
    return "timeout";
  }

  /** Interrupts the current (or next) wait. */
  wake(): void {
    if (this.#eventFd < 0) return;
    this.#lib.libc.write(this.#eventFd, new BigUint64Array([1n]), 8n);
  }

  /** Releases the eventfd. Call only when no wait is in progress. Safe to call twice. */
  close(): void {
    if (this.#eventFd >= 0) {
      this.#lib.libc.close(this.#eventFd);
      this.#eventFd = -1;
    }
  }

  #setSlot(slot: number, fd: number): void {
    this.#view.setInt32(slot * 8, fd, true);
    this.#view.setInt16(slot * 8 + 4, POLLIN, true);
  }
}

function lookupNetmask(lib: Libpcap, device: string): number {
  const net = new Uint8Array(4);
  const mask = new Uint8Array(4);
  const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
  if (lib.pcap.pcap_lookupnet(cStringBytes(device), net, mask, errbuf) !== 0) {
    return PCAP_NETMASK_UNKNOWN;
  }
  // Passed back exactly as libpcap stored it (network byte order in memory).
  return new DataView(mask.buffer).getUint32(0, true);
}

function cStringBytes(text: string): Uint8Array {
  return new TextEncoder().encode(`${text.replaceAll("\0", "")}\0`);
}

/** The C library calls that read native memory by address. */
type MemoryReader = Pick<LibcLibrary["symbols"], "memcpy" | "strlen">;

/** Copies `length` bytes at a native address. */
function copyAt(libc: MemoryReader, address: number | bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  // Deno's types say bigint; at run time an address that fits in a double comes as a number.
  if (length > 0) libc.memcpy(out, address as bigint, BigInt(length));
  return out;
}

/** The NUL-terminated string at a native address (at most 64 KiB of it), or `""` for NULL. */
function cString(libc: MemoryReader, address: number | bigint): string {
  if (Number(address) === 0) return "";
  const length = Math.min(Number(libc.strlen(address as bigint)), 65536);
  return new TextDecoder().decode(copyAt(libc, address, length));
}

function bufferText(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return new TextDecoder().decode(buffer.subarray(0, end < 0 ? buffer.length : end)).trim();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
