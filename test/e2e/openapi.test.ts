import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { startServer, type TestServer } from "../helpers/server.ts";

type Json = Record<string, any>; // a parsed OpenAPI document: walked by path in assertions

async function openapi(base: string, headers: Record<string, string> = {}): Promise<{ status: number; doc: Json; type: string | null }> {
  const res = await fetch(`${base}/openapi.json`, { headers });
  return { status: res.status, type: res.headers.get("content-type"), doc: (await res.json()) as Json };
}

describe("GET /openapi.json", () => {
  let s: TestServer;
  let doc: Json;
  beforeAll(async () => {
    s = startServer();
    const got = await openapi(s.url);
    expect(got.status).toBe(200);
    expect(got.type).toStartWith("application/json");
    doc = got.doc;
  });
  afterAll(() => s.stop());

  test("an OpenAPI 3.1 document about Bond", () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: "Bond", version: pkg.version });
    expect(Object.keys(doc.paths).sort()).toEqual(
      expect.arrayContaining(["/ask", "/stream/{session_id}", "/sessions/{session_id}", "/sessions/{session_id}/cancel", "/health", "/metrics", "/ws"]),
    );
    // Its own routes are not in it.
    expect(doc.paths["/openapi.json"]).toBeUndefined();
    expect(doc.paths["/docs"]).toBeUndefined();
  });

  test("POST /ask carries the route's body schema and its responses", () => {
    const ask = doc.paths["/ask"].post;
    expect(ask.summary).toBeString();
    const body = ask.requestBody.content["application/json"].schema;
    expect(body.type).toBe("object");
    expect(body.required).toEqual(["prompt"]);
    expect(body.properties.prompt.type).toBe("string");
    expect(body.properties.session_id.type).toEqual(["string", "null"]);
    const ok = ask.responses["200"].content["application/json"].schema;
    expect(ok.required).toEqual(expect.arrayContaining(["session_id", "stream_url"]));
    for (const code of ["400", "401", "409", "413", "429", "503"]) {
      expect(ask.responses[code].content["application/json"].schema.properties.error.type).toBe("string");
    }
  });

  test("the stream, sessions, health and metrics routes are described", () => {
    const stream = doc.paths["/stream/{session_id}"].get;
    expect(Object.keys(stream.responses)).toEqual(expect.arrayContaining(["200", "204", "400", "404"]));
    expect(stream.responses["200"].content["text/event-stream"]).toBeDefined();
    expect(stream.parameters).toContainEqual(expect.objectContaining({ name: "session_id", in: "path", required: true }));
    const session = doc.paths["/sessions/{session_id}"];
    expect(session.get.responses["200"].content["application/json"].schema.properties.history.type).toBe("array");
    expect(session.delete.responses["204"]).toBeDefined();
    expect(doc.paths["/sessions/{session_id}/cancel"].post.responses["202"]).toBeDefined();
    expect(doc.paths["/health"].get.responses["200"].content["application/json"].schema.properties.status).toBeDefined();
    expect(doc.paths["/metrics"].get.responses["200"].content["text/plain; version=0.0.4"]).toBeDefined();
    expect(doc.paths["/ws"].get.responses["101"]).toBeDefined();
  });

  test("without keys the document declares no security", () => {
    expect(doc.security).toBeUndefined();
  });

  test("GET /docs is an HTML page that loads /openapi.json", async () => {
    const res = await fetch(`${s.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    const html = await res.text();
    expect(html).toContain("openapi.json");
    expect(new URL("openapi.json", `${s.url}/docs`).pathname).toBe("/openapi.json"); // the page's relative URL resolves here
  });
});

describe("OpenAPI with API keys", () => {
  test("the document and the docs page are public; the document declares bearer auth; health is marked public", async () => {
    const s = startServer({ api_keys: ["k-docs"] });
    try {
      const { status, doc } = await openapi(s.url);
      expect(status).toBe(200);
      expect((await fetch(`${s.url}/docs`)).status).toBe(200);
      expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
      expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
      expect(doc.security).toEqual([{ bearer: [] }]);
      expect(doc.paths["/health"].get.security).toEqual([]);
      // A key does not change the document.
      const withKey = await openapi(s.url, { authorization: "Bearer k-docs" });
      expect(withKey.doc).toEqual(doc);
    } finally {
      await s.stop();
    }
  });
});
