// js_tools: a small MCP server over Streamable HTTP in plain Node.js (no SDK, no packages),
// speaking the 2025-11-25 era: initialize (a session id), notifications/initialized (202),
// tools/list, tools/call, DELETE of the session. JSON replies. Listens on 0.0.0.0:$MCP_PORT,
// path /mcp, and answers whatever Host header the gateway sends.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";

const PORT = Number(process.env.MCP_PORT || 8104);
const VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];
const SERVER_INFO = { name: "js_tools", version: "1.0.0" };
const MAX_BODY = 1 << 20;
const sessions = new Map();

const TOOLS = [
  {
    name: "reverse",
    description: "Reverse a string (by Unicode code point).",
    inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    run: ({ text }) => [...String(text)].reverse().join(""),
  },
  {
    name: "add",
    description: "Add a list of numbers.",
    inputSchema: {
      type: "object",
      properties: { numbers: { type: "array", items: { type: "number" } } },
      required: ["numbers"],
    },
    run: ({ numbers }) => String((numbers || []).reduce((sum, n) => sum + Number(n), 0)),
  },
];

function reply(res, status, body, headers = {}) {
  const data = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(data);
}

function result(id, value) {
  return { jsonrpc: "2.0", id, result: value };
}

function failure(id, code, message) {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message } };
}

function handle(message, session) {
  const { id, method, params = {} } = message;
  if (method === "initialize") {
    const asked = params.protocolVersion;
    const version = VERSIONS.includes(asked) ? asked : VERSIONS[0];
    return { body: result(id, { protocolVersion: version, capabilities: { tools: {} }, serverInfo: SERVER_INFO }), newSession: true };
  }
  if (!session) {
    return { status: 400, body: failure(id, -32600, "no session: send initialize first") };
  }
  if (method === "notifications/initialized") {
    return { status: 202 };
  }
  if (method === "ping") {
    return { body: result(id, {}) };
  }
  if (method === "tools/list") {
    return { body: result(id, { tools: TOOLS.map(({ run, ...tool }) => tool) }) };
  }
  if (method === "tools/call") {
    const tool = TOOLS.find((t) => t.name === params.name);
    if (!tool) {
      return { body: failure(id, -32602, `unknown tool ${params.name}`) };
    }
    try {
      return { body: result(id, { content: [{ type: "text", text: tool.run(params.arguments || {}) }], isError: false }) };
    } catch (err) {
      return { body: result(id, { content: [{ type: "text", text: String(err) }], isError: true }) };
    }
  }
  return { body: failure(id, -32601, `method not found: ${method}`) };
}

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname !== "/mcp") {
    return reply(res, 404, failure(null, -32601, "no MCP endpoint here; use /mcp"));
  }
  const sessionId = req.headers["mcp-session-id"];
  if (req.method === "DELETE") {
    sessions.delete(sessionId);
    return reply(res, 200, undefined);
  }
  if (req.method !== "POST") {
    return reply(res, 405, failure(null, -32600, "POST JSON-RPC to /mcp"), { Allow: "POST, DELETE" });
  }
  let size = 0;
  const chunks = [];
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      reply(res, 413, failure(null, -32600, "request too large"));
      req.destroy();
    } else {
      chunks.push(chunk);
    }
  });
  req.on("end", () => {
    if (res.writableEnded) return;
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(res, 400, failure(null, -32700, "parse error"));
    }
    const session = sessionId && sessions.has(sessionId) ? sessionId : null;
    const out = handle(message, session);
    const headers = {};
    if (out.newSession) {
      const id = randomUUID();
      sessions.set(id, Date.now());
      headers["Mcp-Session-Id"] = id;
    }
    if (out.status === 202) {
      res.writeHead(202);
      return res.end();
    }
    return reply(res, out.status || 200, out.body, headers);
  });
});

server.listen(PORT, "0.0.0.0", () => console.log(`js_tools MCP server on 0.0.0.0:${PORT}/mcp`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
