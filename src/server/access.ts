import type { ServerConfig } from "../config.ts";
import { SESSION_ID_PATTERN } from "../sessions/session.ts";
import { ApiKeys, bearerKey } from "./auth.ts";

/** Who is asking, as far as auth, ownership and limits care. */
export interface Principal {
  /** Owns what this caller creates and is the only one who sees it: an opaque id derived from the key (never the key); null with auth off. */
  readonly owner: string | null;
  /** Identity for limits: `key:<owner>`, or `ip:<address>` without auth. */
  readonly caller: string;
  /** Set when a stream token (not a key) authenticated the request: the one session it reaches. */
  readonly scope: string | null;
  /** A WS upgrade that offered the `bearer` subprotocol must be answered with it, or browsers fail the socket. */
  readonly subprotocol: "bearer" | null;
}

/** Bun's address for a request's peer (`server.requestIP`), asked only when a limit needs the caller. */
export type PeerAddress = (request: Request) => string | undefined;

const TOKEN_PART = /^[A-Za-z0-9_-]{1,400}$/;
const STREAM_PATH = /^\/stream\/([^/]+)$/;

/**
 * Authentication and its helpers: API keys (header or WS subprotocol),
 * signed session-scoped stream tokens, the client address, the WS Origin check.
 * The token secret is random per process: tokens die with the process, as sessions do.
 * HMAC and compare use Bun's native crypto: importing node:crypto costs ~3 ms of every start.
 */
export class Access {
  private readonly keys: ApiKeys;
  private readonly secret: Uint8Array;
  private readonly anyOrigin: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(
    private readonly config: ServerConfig,
    secret: Uint8Array = crypto.getRandomValues(new Uint8Array(32)),
  ) {
    this.keys = new ApiKeys(config.api_keys);
    this.secret = secret;
    this.anyOrigin = config.cors_origins.includes("*");
    this.origins = new Set(config.cors_origins);
  }

  get authOn(): boolean {
    return this.keys.enabled;
  }

  /**
   * The principal behind a request, or null when auth is on and nothing valid was presented.
   * Accepted: `Authorization: Bearer <key>`; on a WS upgrade, `Sec-WebSocket-Protocol: bearer, <key>`;
   * on `GET /stream/<id>` and `/ws`, `?token=<stream token>` (scoped to its session).
   */
  identify(request: Request, peerAddress: PeerAddress): Principal | null {
    const subprotocol = offersBearer(request) ? "bearer" : null;
    if (!this.keys.enabled) return new AddressPrincipal(this, request, peerAddress, subprotocol);
    const key = this.keys.match(bearerKey(request)) ?? (subprotocol ? this.keys.match(subprotocolKey(request)) : null);
    if (key !== null) {
      const owner = this.keyId(key);
      return { owner, caller: `key:${owner}`, scope: null, subprotocol };
    }
    const token = new URL(request.url).searchParams.get("token");
    if (token === null) return null;
    const grant = this.verifyToken(token);
    if (!grant || !tokenFitsPath(request, grant.sessionId)) return null;
    return { owner: grant.owner, caller: `key:${grant.owner}`, scope: grant.sessionId, subprotocol };
  }

  /** A signed token that opens this one session's stream (and a WS scoped to it) until it expires. */
  streamToken(sessionId: string, owner: string, now = Date.now()): string {
    const expires = Math.ceil(now / 1000 + this.config.stream_token_ttl_seconds);
    const payload = `${expires}.${owner}.${sessionId}`;
    return `${Buffer.from(payload).toString("base64url")}.${this.mac(payload).toString("base64url")}`;
  }

  /** The session and owner a token grants, or null when it is malformed, forged or expired. */
  verifyToken(token: string, now = Date.now()): { sessionId: string; owner: string } | null {
    const dot = token.indexOf(".");
    if (dot < 0) return null;
    const body = token.slice(0, dot);
    const sig = token.slice(dot + 1);
    if (!TOKEN_PART.test(body) || !TOKEN_PART.test(sig)) return null;
    const payload = Buffer.from(body, "base64url").toString();
    const expected = this.mac(payload);
    const given = Buffer.from(sig, "base64url");
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
    const match = /^(\d{1,12})\.([0-9a-f]{1,64})\.(.+)$/.exec(payload);
    if (!match || Number(match[1]) * 1000 <= now || !SESSION_ID_PATTERN.test(match[3]!)) return null;
    return { owner: match[2]!, sessionId: match[3]! };
  }

  /**
   * The client's address for limits. Behind one trusted proxy (`trust_proxy`), the right-most
   * X-Forwarded-For entry: the one that proxy appended; anything left of it the client could forge.
   */
  clientIp(request: Request, peerAddress: string | undefined): string {
    if (this.config.trust_proxy) {
      const forwarded = request.headers.get("x-forwarded-for");
      const last = forwarded?.split(",").at(-1)?.trim();
      if (last && last.length <= 64 && /^[0-9A-Za-z.:[\]_-]+$/.test(last)) return normaliseIp(last);
    }
    return normaliseIp(peerAddress ?? "unknown");
  }

  /** Cross-site WebSocket hijacking guard: a browser's Origin must be one of cors_origins (non-browsers send none). */
  originAllowed(request: Request): boolean {
    const origin = request.headers.get("origin");
    return origin === null || this.anyOrigin || this.origins.has(origin);
  }

  /** An opaque, per-process id for a key: safe to put in tokens and maps (HMAC, so no offline guessing of weak keys). */
  private keyId(key: string): string {
    return new Bun.CryptoHasher("sha256", this.secret).update(`key\n${key}`).digest("hex").slice(0, 24);
  }

  private mac(payload: string): Buffer {
    return new Bun.CryptoHasher("sha256", this.secret).update(`stream-token\n${payload}`).digest();
  }
}

/**
 * Without auth a caller is its address, looked up on first use: only the run limits ask, and
 * Bun's requestIP cost ~7 µs a request (~4 % of the server's time in sequential ask + stream runs).
 */
class AddressPrincipal implements Principal {
  readonly owner = null;
  readonly scope = null;
  private address: string | null = null;

  constructor(
    private readonly access: Access,
    private readonly request: Request,
    private readonly peerAddress: PeerAddress,
    readonly subprotocol: "bearer" | null,
  ) {}

  get caller(): string {
    return (this.address ??= `ip:${this.access.clientIp(this.request, this.peerAddress(this.request))}`);
  }
}

/** HTTP and WS report IPv4 peers differently: normalise the mapped form. */
function normaliseIp(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

function protocols(request: Request): string[] {
  const header = request.headers.get("sec-websocket-protocol");
  return header ? header.split(",").map((p) => p.trim()) : [];
}

/** A WS upgrade offering the `bearer` subprotocol (the client SDK's and browsers' way to send the key). */
export function offersBearer(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket" && protocols(request).includes("bearer");
}

/** The key in `Sec-WebSocket-Protocol: bearer, <key>`: the entry right after `bearer`. */
function subprotocolKey(request: Request): string | null {
  const list = protocols(request);
  const at = list.indexOf("bearer");
  return at >= 0 ? (list[at + 1] ?? null) || null : null;
}

/** A stream token is good for `/ws` and for its own session's `/stream/<id>`, nowhere else. */
function tokenFitsPath(request: Request, sessionId: string): boolean {
  const path = new URL(request.url).pathname;
  if (path === "/ws") return true;
  const match = STREAM_PATH.exec(path);
  if (!match) return false;
  try {
    return decodeURIComponent(match[1]!) === sessionId;
  } catch {
    return false;
  }
}
